"""Engine lifecycle on a real RocksDB: enqueue, take, ack, nack, requeue."""

import asyncio

import pytest

from queue_core import codec
from queue_core.errors import NotFound, StorageError
from queue_core.options import EnqueueRequest, FailureRequest
from queue_core.store import Store, enqueue
from queue_core.types import READY, SCHEDULED, Backoff, Retention

from .conftest import run, turn


def req(queue="q", priority=32768, **fields):
    return EnqueueRequest("t", queue, b'{"n":1}', priority=priority, **fields)


class Worker:
    """A taker that records what it is handed."""

    def __init__(self, store, queues=None, prefetch=0):
        self.got = []
        self.taker = store.open_taker(queues, prefetch, self._notify)

    def _notify(self):
        self.got.extend(self.taker.outbox)
        self.taker.outbox.clear()

    @property
    def ids(self):
        return [j.id for j in self.got]


def test_enqueue_sets_status_from_ready_at(store, clock):
    async def body():
        ready, later, past = await store.enqueue(
            [req(), req(ready_at=clock() + 1), req(ready_at=5)]
        )
        assert (ready.status_name, later.status_name, past.status_name) == (
            "ready", "scheduled", "ready",
        )
        assert ready.ready_at == clock() and past.ready_at == 5
        assert ready.id < later.id < past.id
        assert store.get(later.id).status_name == "scheduled"

    run(body())


def test_enqueued_jobs_are_readable_before_their_batch_is_written(store, clock):
    requests = [req(), req(queue="r"), req(ready_at=clock() + 1)]
    jobs = enqueue.apply(store, requests, clock())
    assert [store.get(j.id).queue for j in jobs] == ["q", "r", "q"]
    assert store.ks.db.get(codec.job_key(jobs[0].id)) is None  # not written yet
    store.ks.flush()
    for job in jobs:
        assert codec.decode_job(job.id, store.ks.db.get(codec.job_key(job.id))).queue
        entry = store.ks.db.get(codec.index_key(job.status, job.queue, job.id))
        assert entry == codec.index_value(job.priority, job.ready_at)
    assert store.counts == {("q", READY): 1, ("r", READY): 1, ("q", SCHEDULED): 1}


def test_an_enqueue_hands_its_job_to_a_waiting_stream_at_once(store, clock):
    async def body():
        worker = Worker(store, prefetch=1)
        await turn()
        (job,) = enqueue.apply(store, [req()], clock())
        # In the enqueue's own dispatch pass, not one at the end of the turn.
        assert worker.ids == [job.id] and list(worker.taker.in_flight) == [job.id]

    run(body())


def test_take_orders_by_priority_then_fifo_across_queues(store):
    async def body():
        jobs = await store.enqueue(
            [req("a", 900), req("b", 900), req("c", 500), req("a", 100)]
        )
        worker = Worker(store, frozenset({"a", "b"}))
        await turn()
        assert worker.ids == [jobs[3].id, jobs[0].id, jobs[1].id]
        assert all(j.status_name == "in_flight" and j.dequeued_at for j in worker.got)

    run(body())


def test_prefetch_and_global_limit(open_store):
    store = open_store(global_in_flight_limit=3)

    async def body():
        await store.enqueue([req() for _ in range(6)])
        one, two = Worker(store, prefetch=2), Worker(store, prefetch=0)
        await turn()
        assert len(one.got) == 2 and len(two.got) == 1
        await store.complete(one.ids[0])
        await turn()
        assert len(one.got) + len(two.got) == 4

    run(body())


def test_ack_deletes_or_retains(open_store, clock):
    store = open_store(default_completed_retention_ms=1000)

    async def body():
        kept, gone = await store.enqueue(
            [req(), req(retention=Retention(0, None))]
        )
        Worker(store)
        await turn()
        await store.complete(kept.id)
        await store.complete(gone.id)
        done = store.get(kept.id)
        assert done.status_name == "completed"
        assert done.purge_at == done.completed_at + 1000 == clock() + 1000
        assert store.get(gone.id) is None
        with pytest.raises(NotFound, match="job not found in in-flight set"):
            await store.complete(kept.id)
        clock.advance(1000)
        assert store.get(kept.id) is None  # expired is invisible before reaping
        assert await store.purge_expired(1000) == 1
        assert store.queues() == []

    run(body())


def test_bulk_ack_reports_unknown_ids_in_order(store):
    async def body():
        (job,) = await store.enqueue([req()])
        Worker(store)
        await turn()
        assert await store.complete_many(["x", job.id, "y", "x"]) == ["x", "y"]
        assert store.get(job.id) is None

    run(body())


def test_nack_backoff_retry_limit_and_error_records(store, clock):
    async def body():
        (job,) = await store.enqueue(
            [req(retry_limit=1, backoff=Backoff(2.0, 100, 1000))]
        )
        worker = Worker(store)
        await turn()
        failed = await store.fail(job.id, FailureRequest("boom", "E", "bt"))
        # U = 0.5 from the fixture: 1^2*1000 + 100 + 0.5*1000*1
        assert failed.status_name == "scheduled" and failed.attempts == 1
        assert failed.ready_at == clock() + 1600
        clock.advance(1600)
        assert await store.promote_due(200) == 1
        await turn()
        assert worker.ids == [job.id, job.id]
        dead = await store.fail(job.id, FailureRequest("again"))
        assert dead.status_name == "dead" and dead.attempts == 2
        assert dead.purge_at == clock() + 7 * 24 * 3600 * 1000
        record = store.error(job.id, 1)
        assert (record.message, record.error_type, record.backtrace) == ("boom", "E", "bt")
        assert store.error(job.id, 2).message == "again"

    run(body())


def test_kill_beats_retry_at_and_retry_at_beats_limit(store, clock):
    async def body():
        a, b = await store.enqueue([req(retry_limit=0), req(retry_limit=0)])
        Worker(store)
        await turn()
        retried = await store.fail(a.id, FailureRequest("m", retry_at=clock() + 5))
        assert retried.status_name == "scheduled" and retried.ready_at == clock() + 5
        killed = await store.fail(b.id, FailureRequest("m", retry_at=1, kill=True))
        assert killed.status_name == "dead"

    run(body())


def test_dead_with_zero_retention_is_deleted_with_errors(store):
    async def body():
        (job,) = await store.enqueue([req(retention=Retention(None, 0))])
        Worker(store)
        await turn()
        dead = await store.fail(job.id, FailureRequest("m", kill=True))
        assert dead.status_name == "dead" and dead.purge_at is None
        assert store.get(job.id) is None and store.error(job.id, 1) is None

    run(body())


def test_closing_a_taker_requeues_in_original_order(store):
    async def body():
        jobs = await store.enqueue([req() for _ in range(3)])
        first = Worker(store, prefetch=3)
        await turn()
        await store.complete(jobs[0].id)
        assert store.close_taker(first.taker) == 2
        again = Worker(store)
        await turn()
        assert again.ids == [jobs[1].id, jobs[2].id]
        assert store.get(jobs[1].id).attempts == 0

    run(body())


def test_scheduled_job_promoted_when_due(store, clock):
    async def body():
        (job,) = await store.enqueue([req(ready_at=clock() + 100)])
        assert await store.promote_due(200) == 0
        clock.advance(100)
        assert await store.promote_due(200) == 1
        promoted = store.get(job.id)
        assert promoted.status_name == "ready" and promoted.ready_at == job.ready_at

    run(body())


def test_reopen_rebuilds_indexes_and_recovers_in_flight(open_store, clock):
    store = open_store()

    async def body():
        jobs = await store.enqueue(
            [req(priority=5), req(priority=1), req(ready_at=clock() + 10_000)]
        )
        Worker(store, prefetch=1)
        await turn()
        store.ks.flush()
        return jobs

    jobs = run(body())
    # Simulate a crash: the taker is not closed, the database just reopens.
    store.ks.close()
    store.closed = True
    reopened = Store(store.path, store.config, clock=clock)
    report = reopened.recover()
    assert (report.orphans, report.ready, report.scheduled) == (1, 2, 1)
    assert reopened.get(jobs[1].id).status_name == "ready"
    assert reopened.ready.pop_best()[0] == jobs[1].id
    reopened.close()


def test_second_open_of_a_locked_database_fails_clearly(store):
    with pytest.raises(StorageError, match="in use by another process"):
        Store(store.path)


class SyncCountingDb:
    """The store's real database, counting the WAL syncs asked of it: a
    write with ``sync`` set, or ``flush_wal(True)`` (the pipelined form,
    which RocksDB's "Cumulative WAL ... syncs" statistic does not count)."""

    def __init__(self, db) -> None:
        self._db = db
        self.syncs = 0
        self.events = []

    def write(self, batch, options):
        self.syncs += bool(options.sync)
        self.events.append("write+sync" if options.sync else "write")
        return self._db.write(batch, options)

    def flush_wal(self, sync):
        self.syncs += bool(sync)
        result = self._db.flush_wal(sync)
        self.events.append("sync")
        return result

    def __getattr__(self, name):
        return getattr(self._db, name)


def _wal_syncs(store) -> int:
    """How many WAL syncs the store has asked RocksDB for so far."""
    if not isinstance(store.ks.db, SyncCountingDb):
        store.ks.db = SyncCountingDb(store.ks.db)
    return store.ks.db.syncs


@pytest.mark.parametrize(
    "config, enqueue_syncs, ack_syncs",
    [
        ({}, False, False),
        ({"enqueue_fsync": True}, True, False),
        ({"default_fsync": True, "enqueue_fsync": True}, True, True),
    ],
    ids=["buffered", "fsync-enqueue", "fsync-all"],
)
def test_commit_modes_sync_the_wal_only_when_asked(
    open_store, config, enqueue_syncs, ack_syncs
):
    store = open_store(**config)

    async def scenario():
        before = _wal_syncs(store)
        [job] = await store.enqueue([req()])
        after_enqueue = _wal_syncs(store)
        worker = Worker(store)
        await turn()
        assert worker.ids == [job.id]
        after_take = _wal_syncs(store)
        await store.complete(job.id)
        return before, after_enqueue, after_take, _wal_syncs(store)

    before, after_enqueue, after_take, after_ack = run(scenario())
    assert (after_enqueue > before) is enqueue_syncs
    assert (after_ack > after_take) is ack_syncs


def test_fsync_answers_come_after_a_wal_sync_that_followed_the_write(open_store):
    store = open_store(enqueue_fsync=True)
    _wal_syncs(store)  # install the counting proxy
    events = store.ks.db.events

    async def scenario():
        await store.enqueue([req()])
        events.append("answered")

    run(scenario())
    assert events == ["write", "sync", "answered"]


def test_concurrent_fsync_commits_share_syncs_and_all_land(open_store):
    store = open_store(enqueue_fsync=True)
    _wal_syncs(store)
    db = store.ks.db

    async def scenario():
        return await asyncio.gather(*(store.enqueue([req()]) for _ in range(50)))

    created = [job for jobs in run(scenario()) for job in jobs]
    assert 1 <= db.syncs < 50
    assert db.events[-1] == "sync"
    assert all(store.ks.db.get(b"J" + job.id.encode()) is not None for job in created)


def test_close_waits_for_a_sync_in_progress(open_store):
    store = open_store(enqueue_fsync=True)

    async def scenario():
        task = asyncio.ensure_future(store.enqueue([req()]))
        await asyncio.sleep(0)  # written, and its sync under way
        store.close()
        return await task

    [job] = run(scenario())
    reopened = Store(store.path)
    try:
        assert reopened.ks.get(b"J" + job.id.encode()) is not None
    finally:
        reopened.close()
