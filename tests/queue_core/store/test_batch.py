"""Batched jobs through every rule (API.md 7.2.5), on a real RocksDB.

Each test drives the store with a fake clock and real jq worker processes,
and checks what an enqueue answers (a new job, or the target folded into),
the payloads stored, and that the persisted ``B`` entries agree with the
in-memory map of targets (``consistent``).
"""

import asyncio

import orjson
import pytest

from queue_core import codec
from queue_core.filters import JobFilter
from queue_core.options import EnqueueRequest, FailureRequest
from queue_core.sandbox import JqPool
from queue_core.store import Store, batch
from queue_core.store.patch import PatchRequest
from queue_core.types import READY, SCHEDULED, Batch

from .conftest import run, turn
from .test_cron import fired as cron_fired
from .test_lifecycle import Worker
from .test_recover import crash_and_reopen

# The spec's push-notification example, with batches of at most 3 ids.
WHEN = "(($existing | .device_ids) + ($new | .device_ids)) | length <= 3"
FOLD = "$existing | .device_ids += ($new | .device_ids)"


def push(*ids, key="k", when=WHEN, fold=FOLD, **fields):
    payload = orjson.dumps({"device_ids": list(ids)})
    fields.setdefault("queue", "q")
    return EnqueueRequest(
        "t", payload=payload, batch=Batch(key, when, fold), **fields
    )


def plain(**fields):
    return EnqueueRequest("t", "q", b"1", **fields)


async def enqueue(store, *requests):
    """``[(job, folded)]`` for the requests of one call."""
    jobs = await store.enqueue(list(requests))
    folded = getattr(jobs, "folded", None) or [False] * len(jobs)
    return list(zip(jobs, folded))


async def one(store, request):
    ((job, folded),) = await enqueue(store, request)
    return job, folded


def ids(store, job_id):
    return orjson.loads(store.get(job_id).payload)["device_ids"]


def persisted(store) -> dict:
    store.ks.flush()
    return {
        k[1:].decode(): v.decode()
        for k, v in store.ks.scan(batch.TAG, batch.TAG + b"\xff")
    }


def consistent(store) -> dict:
    """The targets, once checked against disk and against the jobs."""
    assert persisted(store) == store.batches
    for key, job_id in store.batches.items():
        job = store.get(job_id)
        assert job.status == READY and job.batch.key == key
    return store.batches


def refused(store, *requests) -> tuple:
    with pytest.raises(batch.Refused) as caught:
        run(store.enqueue(list(requests)))
    return caught.value.index, caught.value.message


def test_a_fold_merges_in_place_and_answers_the_target(store, clock):
    """BAT-02, BAT-03, BAT-12: same id, priority, queue, type, ready_at."""

    async def body():
        first, folded = await one(store, push("abc", priority=7))
        assert not folded and first.batch == Batch("k", WHEN, FOLD)
        assert consistent(store) == {"k": first.id}
        clock.advance(10)
        again, folded = await one(store, push("def", "ghi", queue="other", priority=1))
        assert folded and again.id == first.id
        stored = store.get(first.id)
        assert (stored.queue, stored.type, stored.priority, stored.ready_at) == (
            "q", "t", 7, first.ready_at,
        )
        assert ids(store, first.id) == ["abc", "def", "ghi"]
        assert store.counts == {("q", READY): 1}
        assert store.totals.enqueued == 1
        assert consistent(store) == {"k": first.id}

    run(body())


def test_a_fold_keeps_the_targets_place_in_line(store):
    async def body():
        target, _ = await one(store, push("a"))
        other = (await store.enqueue([plain()]))[0]
        await one(store, push("b"))
        worker = Worker(store, prefetch=1)
        await turn()
        assert worker.ids == [target.id]
        assert orjson.loads(worker.got[0].payload) == {"device_ids": ["a", "b"]}
        assert store.get(other.id).status == READY

    run(body())


def test_a_falsy_when_seals_the_target_and_starts_the_next(store):
    """BAT-04."""

    async def body():
        first, _ = await one(store, push("a", "b"))
        second, folded = await one(store, push("c", "d"))  # 4 ids > 3
        assert not folded and second.id != first.id
        assert ids(store, first.id) == ["a", "b"]
        assert store.get(first.id).status == READY
        third, folded = await one(store, push("e"))
        assert folded and third.id == second.id
        assert ids(store, second.id) == ["c", "d", "e"]
        assert consistent(store) == {"k": second.id}

    run(body())


def test_the_targets_expressions_win(store):
    """BAT-05: a later enqueue's when/fold are ignored once there is one."""

    async def body():
        first, _ = await one(store, push("a"))
        again, folded = await one(store, push("b", when="false", fold="$new"))
        assert folded and again.id == first.id
        assert ids(store, first.id) == ["a", "b"]
        assert store.get(first.id).batch == Batch("k", WHEN, FOLD)

    run(body())


def test_keys_are_global_across_queues_and_types(store):
    async def body():
        first, _ = await one(store, push("a", queue="x"))
        again, folded = await one(store, push("b", queue="y"))
        assert folded and again.id == first.id
        other, folded = await one(store, push("c", key="other"))
        assert not folded and other.id != first.id

    run(body())


@pytest.mark.parametrize(
    "when, fold, payload, message",
    [
        (".[", "$new", b"1", "batch expression: when: syntax error, unexpected end "
         "of file at <top-level>, line 1, column 2"),
        ("true", "nofn(1)", b"1", "batch expression: fold: nofn/1 is not defined at "
         "<top-level>, line 1, column 1"),
        ("$nope", "$new", b"1", "batch expression: when: $nope is not defined at "
         "<top-level>, line 1, column 1"),
        ("true", "$new | .a + 1", b'"text"',
         'batch dry-run: fold: Cannot index string with string ("a")'),
        ("$new | .a", "$new", b'"text"',
         'batch dry-run: when: Cannot index string with string ("a")'),
        ("true", "$existing, $new", b"1",
         "batch dry-run: fold: fold expression produced more than one output"),
        ("true", "empty", b"1",
         "batch dry-run: fold: fold expression produced no output"),
        ("true", ". + 1 # a comment", b"1", None),  # . is null; null + 1 is 1
    ],
)
def test_compile_and_dry_run_refusals(store, when, fold, payload, message):
    """BAT-06, BAT-07, BAT-08; the input ``.`` is null."""
    request = EnqueueRequest("t", "q", payload, batch=Batch("k", when, fold))
    if message is None:
        run(store.enqueue([request]))
        return
    assert refused(store, plain(), request) == (1, message)
    assert store.counts == {} and store.batches == {}


def test_a_multi_output_when_uses_its_first_output(store):
    async def body():
        first, _ = await one(store, push("a", when="true, false"))
        again, folded = await one(store, push("b"))
        assert folded and again.id == first.id

    run(body())


def test_a_when_that_fails_or_says_nothing_at_fold_time_seals(store):
    async def body():
        first, _ = await one(store, push("a", when='$new | .device_ids[0] | test("a")'))
        sealed, folded = await one(store, push(1))  # test on a number: an error
        assert not folded and sealed.id != first.id
        quiet = '$new | .device_ids[] | select(. == "y")'
        target, _ = await one(store, push("y", key="q", when=quiet))
        again, folded = await one(store, push("y", key="q"))
        assert folded and again.id == target.id
        later, folded = await one(store, push("z", key="q"))  # no output: falsy
        assert not folded and later.id != target.id

    run(body())


def test_a_fold_that_fails_at_commit_writes_nothing(store):
    async def body():
        full = (
            'if ($existing | .device_ids | length) > 1 then error("full") '
            "else $existing | .device_ids += ($new | .device_ids) end"
        )
        first, _ = await one(store, push("a", fold=full))
        await one(store, push("b"))
        with pytest.raises(batch.Refused) as caught:
            await store.enqueue([plain(), push("c")])
        assert caught.value.message == "batch fold failed: full"
        assert caught.value.index == 1
        assert ids(store, first.id) == ["a", "b"]
        assert store.counts == {("q", READY): 1}

    run(body())


def test_a_fold_over_the_payload_limit_leaves_the_target_unchanged(open_store):
    store = open_store(max_payload_bytes=40)
    big = "$existing | .device_ids += [$new | .device_ids[] | . * 10]"

    async def body():
        first, _ = await one(store, push("ab", when="true", fold=big))
        with pytest.raises(batch.Refused) as caught:
            await store.enqueue([push("cd")])
        assert caught.value.message == (
            "batch fold failed: the folded payload is 44 bytes, "
            "over the limit of 40 bytes"
        )
        assert ids(store, first.id) == ["ab"]

    run(body())


def test_a_scheduled_batched_enqueue_never_folds_nor_is_folded_into(store, clock):
    """BAT-09."""

    async def body():
        later, folded = await one(store, push("a", ready_at=clock() + 1000))
        assert not folded and later.status == SCHEDULED and later.batch is not None
        now, folded = await one(store, push("b"))
        assert not folded and now.id != later.id
        another, folded = await one(store, push("c", ready_at=clock() + 1000))
        assert not folded and another.id not in (later.id, now.id)
        assert ids(store, now.id) == ["b"] and ids(store, later.id) == ["a"]
        assert consistent(store) == {"k": now.id}
        # Promoted when due, it is an ordinary ready job, no target.
        clock.advance(1000)
        await store.promote_due(100)
        assert store.get(later.id).status == READY
        assert consistent(store) == {"k": now.id}

    run(body())


def test_a_taken_target_stops_being_one(store):
    """BAT-10; the taker sees the merged payload once."""

    async def body():
        first, _ = await one(store, push("a"))
        await one(store, push("b"))
        worker = Worker(store, prefetch=1)
        await turn()
        assert worker.ids == [first.id]
        assert store.batches == {} and persisted(store) == {}
        after, folded = await one(store, push("c"))
        assert not folded and after.id != first.id
        # Requeued (the stream closed), the old target does not come back.
        store.close_taker(worker.taker)
        assert store.get(first.id).status == READY
        assert consistent(store) == {"k": after.id}

    run(body())


@pytest.mark.parametrize(
    "change", ["schedule", "delete", "kill", "complete", "fail", "reset"]
)
def test_a_target_that_leaves_ready_stops_being_one(store, clock, change):
    async def body():
        first, _ = await one(store, push("a"))
        if change == "schedule":
            await store.patch(first.id, PatchRequest(ready_at=clock() + 1000))
        elif change == "delete":
            await store.delete(first.id)
        elif change == "kill":
            await store.kill(first.id)
        elif change == "reset":
            await store.reset()
        else:
            Worker(store, prefetch=1)
            await turn()
            if change == "complete":
                await store.complete(first.id)
            else:
                await store.fail(first.id, FailureRequest("no"))
        assert consistent(store) == {}
        after, folded = await one(store, push("b"))
        assert not folded and after.id != first.id

    run(body())


def test_a_patch_that_keeps_it_ready_keeps_the_target(store):
    async def body():
        first, _ = await one(store, push("a"))
        await store.patch(first.id, PatchRequest(priority=3, queue="r"))
        again, folded = await one(store, push("b"))
        assert folded and again.id == first.id
        assert (store.get(first.id).queue, store.get(first.id).priority) == ("r", 3)

    run(body())


def test_a_bulk_folds_into_its_own_jobs_in_order(store):
    """BAT-11: read your writes within one call, all in one write batch."""

    async def body():
        results = await enqueue(
            store,
            push("a"),
            plain(),
            push("b"),
            push("c", "d"),  # seals: 4 ids
            push("x", key="other"),
            push("e"),
            plain(unique_key="u"),
            plain(unique_key="u"),
        )
        jobs = [job for job, _ in results]
        flags = [f for _, f in results]
        assert flags == [False, False, True, False, False, True, False, False]
        assert jobs[2].id == jobs[0].id and jobs[5].id == jobs[3].id
        assert jobs[7].id == jobs[6].id
        assert ids(store, jobs[0].id) == ["a", "b"]
        assert ids(store, jobs[3].id) == ["c", "d", "e"]
        assert consistent(store) == {"k": jobs[3].id, "other": jobs[4].id}
        assert store.totals.enqueued == 5
        assert store.ks.pending_writes() == {}  # committed

    run(body())


def test_a_bulk_folds_into_an_existing_target_first(store):
    async def body():
        first, _ = await one(store, push("a"))
        results = await enqueue(store, push("b"), push("c"), push("d"))
        assert [f for _, f in results] == [True, True, False]
        assert [j.id for j, _ in results][:2] == [first.id, first.id]
        assert ids(store, first.id) == ["a", "b", "c"]

    run(body())


def test_a_bulk_with_a_refused_job_writes_nothing(store):
    async def body():
        first, _ = await one(store, push("a"))
        with pytest.raises(batch.Refused) as caught:
            await store.enqueue([push("b"), plain(), push("c", fold="$existing, $new")])
        assert caught.value.index == 2
        assert ids(store, first.id) == ["a"]
        assert store.counts == {("q", READY): 1}

    run(body())


def test_a_target_taken_during_the_jq_call_gets_a_new_job(store):
    """The fold's sandbox call is awaited; a take meanwhile wins."""
    real = store.jq.batch

    async def body():
        first, _ = await one(store, push("a"))
        worker = None

        async def take_meanwhile(*args):
            nonlocal worker
            result = await real(*args)
            if worker is None:
                worker = Worker(store, prefetch=1)
                await turn()
            return result

        store.jq.batch = take_meanwhile
        after, folded = await one(store, push("b"))
        assert worker.ids == [first.id]
        assert orjson.loads(worker.got[0].payload) == {"device_ids": ["a"]}
        assert not folded and after.id != first.id
        assert consistent(store) == {"k": after.id}

    run(body())


def test_concurrent_folds_into_one_key_are_serialised(store):
    async def body():
        await one(store, push("start", when="true"))
        results = await asyncio.gather(
            *(store.enqueue([push(str(n), when="true")]) for n in range(20))
        )
        assert all(r.folded == [True] for r in results)
        (target,) = {r[0].id for r in results}
        assert sorted(ids(store, target)) == sorted(["start", *map(str, range(20))])
        assert store.batch_locks == {}

    run(body())


def test_targets_survive_a_crash_and_bad_entries_are_dropped(open_store, clock):
    store = open_store()

    async def body():
        first, _ = await one(store, push("a"))
        await one(store, push("b"))
        other, _ = await one(store, push("x", key="other"))
        await store.delete(other.id)
        await store.ks.commit()

    run(body())
    # A damaged store: an entry for a job that does not exist.
    store.ks.put(batch.TAG + b"gone", b"0" * 25)
    store.ks.flush()
    store.jq.close()
    reopened, _ = crash_and_reopen(store, clock)
    try:

        async def after():
            assert consistent(reopened) == {"k": first_id}
            again, folded = await one(reopened, push("c"))
            assert folded and again.id == first_id
            assert ids(reopened, first_id) == ["a", "b", "c"]

        (first_id,) = [
            job_id for key, job_id in reopened.batches.items() if key == "k"
        ]
        run(after())
    finally:
        reopened.close()


def test_a_runaway_expression_is_a_422_and_the_server_goes_on(tmp_path, clock):
    store = Store(str(tmp_path / "d"), clock=clock, jq=JqPool(time_limit_ms=100))
    store.recover()
    try:
        with pytest.raises(batch.Refused) as caught:
            run(store.enqueue([push("a", when="def f: f; f")]))
        assert caught.value.message == (
            "batch expression exceeded the time limit of 100 ms"
        )
        assert caught.value.index is None
        run(store.enqueue([push("a")]))
        assert list(store.batches) == ["k"]
    finally:
        store.close()


def test_the_persisted_entry_names_the_target(store):
    async def body():
        first, _ = await one(store, push("a"))
        store.ks.flush()
        assert store.ks.db.get(batch.TAG + b"k") == first.id.encode()
        assert store.ks.db.get(codec.job_key(first.id)) is not None
        deleted = await store.delete_matching(JobFilter())
        assert deleted == 1 and persisted(store) == {}

    run(body())


# -- cron entries that carry batch (API.md 7.6.1) -----------------------------


def cron_entry(name, *device_ids, **fields):
    from queue_core.cron import EntryDefinition

    return EntryDefinition(name, "* * * * *", "UTC", None, push(*device_ids, **fields))


def test_firing_entries_fold_into_the_keys_target(store, clock):
    async def body():
        target, _ = await one(store, push("a"))
        await store.crons.put_group(
            "g", None, [cron_entry("e", "b"), cron_entry("f", "c"), cron_entry("p")]
        )
        await store.crons.put_group(
            "h", None, [cron_entry("plain", key="other", when="false")]
        )
        clock.advance(60_000)
        fired = await store.crons.fire_due(1000)
        names = sorted(name for _, name, _ in cron_fired(fired))
        assert names == ["e", "f", "p", "plain"]
        # a, b, c fill the target; the empty one folds in too (3 ids at most).
        assert ids(store, target.id) == ["a", "b", "c"]
        assert store.counts == {("q", READY): 2}
        assert store.totals.enqueued == 2
        assert set(consistent(store)) == {"k", "other"}
        assert store.batches["k"] == target.id
        clock.advance(60_000)
        await store.crons.fire_due(1000)  # b and c no longer fit: a new target
        assert store.batches["k"] != target.id
        assert ids(store, store.batches["k"]) == ["b", "c"]

    run(body())


def test_a_re_created_entry_folds_once(store, clock):
    """Its key is in the due index twice (cron.due); it fires once."""

    async def body():
        target, _ = await one(store, push("a"))
        await store.crons.put_group("g", None, [cron_entry("e", "b")])
        await store.crons.delete_entry("g", "e")
        await store.crons.add_entry("g", cron_entry("e", "b"))
        clock.advance(60_000)
        fired = await store.crons.fire_due(1000)
        assert [name for _, name, _ in cron_fired(fired)] == ["e"]
        assert ids(store, target.id) == ["a", "b"]

    run(body())


def test_a_pass_planned_while_an_entry_changes_is_planned_again(store, clock):
    real = store.jq.batch

    async def body():
        await one(store, push("a"))
        await store.crons.put_group("g", None, [cron_entry("e", "b")])
        clock.advance(60_000)
        changed = []

        async def change_meanwhile(*args):
            result = await real(*args)
            if not changed:
                changed.append(True)
                await store.crons.put_group("g", None, [cron_entry("e", "z")])
            return result

        store.jq.batch = change_meanwhile
        await store.crons.fire_due(1000)
        assert ids(store, store.batches["k"]) == ["a", "z"]

    run(body())


def test_a_fold_that_fails_when_an_entry_fires_makes_a_new_job(store, clock, caplog):
    async def body():
        fails = '$new | if .device_ids == ["boom"] then error("no") else $new end'
        first, _ = await one(store, push("a", fold=fails))
        await store.crons.put_group("g", None, [cron_entry("e", "boom")])
        clock.advance(60_000)
        fired = await store.crons.fire_due(1000)
        assert [name for _, name, _ in cron_fired(fired)] == ["e"]
        assert ids(store, first.id) == ["a"]
        assert store.batches["k"] != first.id
        assert ids(store, store.batches["k"]) == ["boom"]

    run(body())
    assert "cron batch fold failed" in caplog.text


def test_a_template_is_checked_like_an_enqueue(store):
    async def body():
        await batch.check(store, push("a"))
        with pytest.raises(batch.Refused) as caught:
            await batch.check(store, push("a", fold="$existing, $new"))
        return caught.value.message

    assert run(body()) == (
        "batch dry-run: fold: fold expression produced more than one output"
    )
    assert store.counts == {}


# -- rounds: concurrent calls planned together, answered apart -----------------


async def outcomes(store, *calls):
    """Each call's ``[(job, folded)]``, or its Refused, when sent at once."""
    results = await asyncio.gather(
        *(enqueue(store, *call) for call in calls), return_exceptions=True
    )
    assert store.batch_locks == {} and store.batch_rounds.runner is None
    return results


def test_concurrent_calls_fold_in_arrival_order(store):
    async def body():
        first, _ = await one(store, push("a"))
        got = await outcomes(store, [push("b")], [push("c"), plain()], [push("d")])
        assert [[f for _, f in r] for r in got] == [[True], [True, False], [False]]
        assert got[0][0][0].id == got[1][0][0].id == first.id
        assert ids(store, first.id) == ["a", "b", "c"]
        assert ids(store, got[2][0][0].id) == ["d"]
        assert consistent(store) == {"k": got[2][0][0].id}

    run(body())


def test_a_refused_call_fails_alone(store):
    async def body():
        first, _ = await one(store, push("a"))
        fails = (  # not in a dry-run, where $existing is $new
            'if $existing != $new and $new.device_ids == ["w"] then error("no w") '
            "else $existing | .device_ids += ($new | .device_ids) end"
        )
        got = await outcomes(
            store,
            [push("b")],
            [plain(), push("c", fold="$existing, $new")],  # dry-run: 422
            [push("x", key="f", fold=fails)],
            [push("y", key="f")],
            [push("w", key="f")],  # the target's fold fails
            [push("z", key="f")],
        )
        assert isinstance(got[1], batch.Refused) and got[1].index == 1
        assert got[1].message.startswith("batch dry-run: fold:")
        assert isinstance(got[4], batch.Refused) and got[4].index == 0
        assert got[4].message == "batch fold failed: no w"
        assert [f for _, f in got[0]] == [True]
        assert [[f for _, f in got[n]] for n in (2, 3, 5)] == [[False], [True], [True]]
        assert ids(store, first.id) == ["a", "b"]
        assert ids(store, got[2][0][0].id) == ["x", "y", "z"]
        assert store.counts == {("q", READY): 2}

    run(body())


def test_a_runaway_in_a_round_fails_only_its_call(tmp_path, clock):
    store = Store(str(tmp_path / "d"), clock=clock, jq=JqPool(time_limit_ms=100))
    store.recover()
    try:

        async def body():
            return await outcomes(
                store,
                [push("a")],
                [push("b", key="loop", when="def f: f; f")],
                [push("c")],
            )

        got = run(body())
        assert isinstance(got[1], batch.Refused) and got[1].index is None
        assert [f for _, f in got[0]] == [False] and [f for _, f in got[2]] == [True]
        assert ids(store, got[0][0][0].id) == ["a", "c"]
    finally:
        store.close()


def test_a_round_mixes_unique_keys_and_batches(store):
    async def body():
        got = await outcomes(
            store,
            [plain(unique_key="u"), push("a")],
            [plain(unique_key="u"), push("b")],
        )
        (u1, f1), (a, fa) = got[0]
        (u2, f2), (b, fb) = got[1]
        assert u1.id == u2.id and a.id == b.id and (fa, fb) == (False, True)
        jobs = await store.enqueue([plain(unique_key="u"), push("c")])
        assert jobs.duplicates == [True, False] and jobs.folded == [False, True]

    run(body())


def test_a_round_takes_a_bounded_number_of_requests(store, monkeypatch):
    monkeypatch.setattr(batch, "BATCH_ROUND_REQUESTS", 2)
    real, sizes = store.jq.batch, []

    async def counting(checks, chains, max_bytes):
        sizes.append(len(checks))
        return await real(checks, chains, max_bytes)

    store.jq.batch = counting

    async def body():
        calls = [push("a")], [push("b")], [push("c"), push("d")], [push("e")]
        await outcomes(store, *calls)

    run(body())
    # All four wait when the first round starts; a call is never split.
    assert sizes == [2, 2, 1]
