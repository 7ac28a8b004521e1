"""Unique keys through every transition (API.md 7.2.4), on a real RocksDB.

Each test drives the store with a fake clock and checks both what an
enqueue answers (a new job or the holder, flagged as a duplicate) and that
the persisted ``U`` entries agree with the in-memory map (``consistent``).
"""

from queue_core import codec
from queue_core.filters import JobFilter
from queue_core.options import FailureRequest
from queue_core.store import unique
from queue_core.store.patch import PatchRequest
from queue_core.types import DEAD, SCHEDULED, Retention

from .conftest import run, turn
from .test_lifecycle import Worker, req
from .test_recover import crash_and_reopen


def keyed(key="k", scope=None, **fields):
    return req(unique_key=key, unique_while=scope, **fields)


async def enqueue(store, *requests):
    """``[(job, duplicate)]`` for the requests of one call."""
    jobs = await store.enqueue(list(requests))
    flags = (
        jobs.duplicates if isinstance(jobs, unique.Enqueued) else [False] * len(jobs)
    )
    return list(zip(jobs, flags))


async def one(store, request):
    ((job, duplicate),) = await enqueue(store, request)
    return job, duplicate


def persisted(store) -> dict:
    """The ``U`` entries on disk: key -> (holder id, scope byte)."""
    store.ks.flush()
    return {
        k[1:].decode(): (v[:25].decode(), v[25:])
        for k, v in store.ks.scan(unique.TAG, unique.TAG + b"\xff")
    }


def consistent(store) -> dict:
    """The in-memory map, once checked against disk and against the jobs."""
    on_disk = persisted(store)
    assert {k: v[0] for k, v in on_disk.items()} == store.unique
    for key, job_id in store.unique.items():
        job = store.ks.get(codec.job_key(job_id))
        assert job is not None, f"{key} is held by a missing job"
        assert codec.decode_job(job_id, job).unique_key == key
    return store.unique


def test_a_duplicate_is_the_holder_unchanged_and_keys_are_global(store, clock):
    """UNQ-02, UNQ-03, UNQ-09."""

    async def body():
        first, duplicate = await one(store, keyed())
        assert not duplicate and first.unique_while == "queued"
        clock.advance(5)
        again, duplicate = await one(store, keyed(queue="other", priority=1))
        assert duplicate and again.id == first.id
        stored = store.get(first.id)
        assert (stored.queue, stored.priority, stored.ready_at) == (
            "q",
            32768,
            first.ready_at,
        )
        assert store.counts == {("q", 1): 1}
        assert consistent(store) == {"k": first.id}
        assert persisted(store)["k"] == (first.id, b"q")

    run(body())


def test_queued_scope_lets_go_when_taken(store):
    """UNQ-06: a queued holder in flight no longer holds, for any scope."""

    async def body():
        held, _ = await one(store, keyed())
        Worker(store)
        await turn()
        assert consistent(store) == {}
        new, duplicate = await one(store, keyed(scope="active"))
        assert not duplicate and new.id != held.id
        assert consistent(store) == {"k": new.id}

    run(body())


def test_active_scope_holds_in_flight_until_the_ack(store):
    """UNQ-07."""

    async def body():
        held, _ = await one(store, keyed(scope="active"))
        worker = Worker(store, prefetch=1)
        await turn()
        job, duplicate = await one(store, keyed(scope="active"))
        assert duplicate and job.id == held.id and job.status_name == "in_flight"
        # A queued-scope newcomer does not conflict with an in-flight holder.
        queued, duplicate = await one(store, keyed(scope="queued", ready_at=1 << 62))
        assert not duplicate and consistent(store) == {"k": queued.id}
        await store.delete(queued.id)
        assert consistent(store) == {}
        assert worker.ids == [held.id]
        await store.complete(held.id)
        assert consistent(store) == {}
        new, duplicate = await one(store, keyed(scope="active"))
        assert not duplicate and new.id != held.id

    run(body())


def test_exists_scope_holds_a_retained_job_until_it_is_reaped(open_store, clock):
    """UNQ-08: completed and retained, past purge_at but not yet reaped."""
    store = open_store(default_completed_retention_ms=1000)

    async def body():
        held, _ = await one(store, keyed(scope="exists"))
        Worker(store)
        await turn()
        await store.complete(held.id)
        job, duplicate = await one(store, keyed(scope="exists"))
        assert duplicate and job.id == held.id and job.status_name == "completed"
        clock.advance(1000)
        assert store.get(held.id) is None  # invisible, still holding
        job, duplicate = await one(store, keyed(scope="exists"))
        assert duplicate and job.id == held.id
        assert await store.purge_expired(1000) == 1
        assert consistent(store) == {}
        job, duplicate = await one(store, keyed(scope="exists"))
        assert not duplicate and job.id != held.id

    run(body())


def test_a_newcomer_outside_the_conflict_set_becomes_the_holder(open_store):
    """A completed exists-holder is no conflict for a queued enqueue."""
    store = open_store(default_completed_retention_ms=60_000)

    async def body():
        old, _ = await one(store, keyed(scope="exists"))
        Worker(store)
        await turn()
        await store.complete(old.id)
        new, duplicate = await one(store, keyed(scope="queued", ready_at=1 << 62))
        assert not duplicate and consistent(store) == {"k": new.id}
        await store.delete(old.id)  # not the holder any more: the key stays
        assert consistent(store) == {"k": new.id}

    run(body())


def test_death_lets_go_of_queued_and_active_keys_but_not_exists(open_store):
    """UNQ-13, API.md 7.3.4: released on death; exists holds while retained."""
    store = open_store(default_dead_retention_ms=60_000)

    async def body():
        jobs = [
            (await one(store, keyed(key, scope)))[0]
            for key, scope in (("q", "queued"), ("a", "active"), ("e", "exists"))
        ]
        Worker(store)
        await turn()
        for job in jobs:
            failed = await store.fail(job.id, FailureRequest("boom", kill=True))
            assert failed.status == DEAD
        assert consistent(store) == {"e": jobs[2].id}
        for key, scope in (("q", "queued"), ("a", "active")):
            _, duplicate = await one(store, keyed(key, scope))
            assert not duplicate

    run(body())


def test_death_with_zero_retention_deletes_the_exists_key(store):
    async def body():
        held, _ = await one(store, keyed(scope="exists", retention=Retention(None, 0)))
        Worker(store)
        await turn()
        await store.fail(held.id, FailureRequest("boom", kill=True))
        assert consistent(store) == {}

    run(body())


def test_a_failed_queued_job_takes_its_key_back_if_free(store, clock):
    """API.md 7.3.4: re-acquired on reschedule unless another job took it."""

    async def body():
        held, _ = await one(store, keyed())
        Worker(store, prefetch=1)
        await turn()
        retried = await store.fail(held.id, FailureRequest("x", retry_at=clock() + 10))
        assert retried.status == SCHEDULED
        assert consistent(store) == {"k": held.id}
        job, duplicate = await one(store, keyed())
        assert duplicate and job.id == held.id

    run(body())


def test_a_failed_queued_job_leaves_a_key_another_job_took(store, clock):
    async def body():
        first, _ = await one(store, keyed())
        worker = Worker(store, prefetch=1)
        await turn()
        second, duplicate = await one(store, keyed(ready_at=clock() + 100))
        assert not duplicate
        assert worker.ids == [first.id]
        await store.fail(first.id, FailureRequest("x", retry_at=clock() + 10))
        assert consistent(store) == {"k": second.id}

    run(body())


def test_a_requeued_queued_job_takes_its_key_back_if_free(store):
    """API.md 7.2.4 allows re-acquiring on requeue; so does recovery."""

    async def body():
        held, _ = await one(store, keyed())
        worker = Worker(store)
        await turn()
        assert consistent(store) == {}
        assert store.close_taker(worker.taker) == 1
        assert consistent(store) == {"k": held.id}

    run(body())


def test_patch_and_delete_keep_the_map_in_step(store, clock):
    async def body():
        held, _ = await one(store, keyed())
        await store.patch(held.id, PatchRequest(queue="r", ready_at=clock() + 100))
        job, duplicate = await one(store, keyed())
        assert duplicate and (job.queue, job.status_name) == ("r", "scheduled")
        await store.delete(held.id)
        assert consistent(store) == {}
        await one(store, keyed("a"))
        b, _ = await one(store, keyed("b", queue="other"))
        assert await store.delete_matching(JobFilter(queues=frozenset({"q"}))) == 1
        assert consistent(store) == {"b": b.id}
        await store.reset()
        assert consistent(store) == {}

    run(body())


def test_one_call_repeats_a_key_as_a_duplicate_of_its_first_job(store):
    """UNQ-10, UNQ-11: within a call, whatever the scope; all or some new."""

    async def body():
        results = await enqueue(
            store, keyed("x"), req(), keyed("x", "exists"), keyed("y")
        )
        (x, new_x), (_, new_plain), (again, repeat), (y, new_y) = results
        assert [new_x, new_plain, repeat, new_y] == [False, False, True, False]
        assert again is x and x.id != y.id
        results = await enqueue(store, keyed("y"), keyed("x"), keyed("y", "active"))
        assert [(job.id, flag) for job, flag in results] == [
            (y.id, True),
            (x.id, True),
            (y.id, True),
        ]
        assert consistent(store) == {"x": x.id, "y": y.id}
        assert len(store.ready) == 3

    run(body())


def test_a_job_taken_in_its_own_enqueue_has_already_let_go(store, clock):
    """The key is held before the enqueue's dispatch pass hands the job out."""

    async def body():
        worker = Worker(store)
        await turn()
        held, _ = await one(store, keyed())
        assert worker.ids == [held.id]
        assert consistent(store) == {}

    run(body())


def test_keys_survive_a_crash_and_are_checked_on_recovery(open_store, clock):
    store = open_store()

    async def body():
        queued, _ = await one(store, keyed("q"))
        active, _ = await one(store, keyed("a", "active"))
        Worker(store)
        await turn()
        later, _ = await one(store, keyed("s", ready_at=clock() + 100))
        return queued, active, later

    queued, active, later = run(body())
    # A stale entry (a holder that does not exist) is dropped at start-up.
    store.ks.put(unique.holder_key("ghost"), b"0" * 25 + b"q")
    store.ks.flush()
    reopened, report = crash_and_reopen(store, clock)
    assert report.orphans == 2
    # Recovery returns the queued job to ready, and it takes its key back.
    assert consistent(reopened) == {"q": queued.id, "a": active.id, "s": later.id}
    reopened.close()


def test_duplicates_do_not_count_as_enqueued(store):
    async def body():
        await enqueue(store, keyed("a"), keyed("b"), keyed("a"), req())
        await enqueue(store, keyed("b"))
        return store.totals.enqueued

    assert run(body()) == 3  # a, b and the plain job; the repeats made nothing
