"""Start-up recovery after a crash, on a real RocksDB (API.md 4.3, PERSIST-02).

A crash is the database closed with the take's batch written but no
graceful requeue, which is what a server killed with kill -9 after its
frames left leaves on disk; the reopened store recovers it as start-up does.
"""

from queue_core import codec
from queue_core.options import FailureRequest
from queue_core.store import Store
from queue_core.types import IN_FLIGHT

from .conftest import run, turn
from .test_lifecycle import Worker, req


def crash_and_reopen(store, clock):
    """Close the database as a kill -9 leaves it, then open and recover it."""
    store.ks.close()
    store.closed = True
    reopened = Store(store.path, store.config, clock=clock)
    report = reopened.recover()
    return reopened, report


def fields(job):
    return (job.status_name, job.attempts, job.ready_at, job.dequeued_at)


def test_recover_keeps_the_dequeued_at_of_a_job_in_flight_at_a_crash(
    open_store, clock
):
    store = open_store()

    async def body():
        (job,) = await store.enqueue([req()])
        clock.advance(250)
        Worker(store)
        await turn()
        return store.get(job.id)

    held = run(body())
    assert held.status_name == "in_flight" and held.dequeued_at == clock()
    before = fields(held)
    clock.advance(1000)
    reopened, report = crash_and_reopen(store, clock)
    assert report.orphans == 1
    assert fields(reopened.get(held.id)) == ("ready",) + before[1:]
    reopened.close()


def test_recover_keeps_the_latest_dequeued_at_of_a_retried_job(open_store, clock):
    """The record still holds the first take's time; the second take's wins."""
    store = open_store()

    async def body():
        (job,) = await store.enqueue([req()])
        worker = Worker(store)
        await turn()
        first = worker.got[0].dequeued_at
        clock.advance(100)
        await store.fail(job.id, FailureRequest("m", retry_at=clock() + 50))
        clock.advance(50)
        assert await store.promote_due(10) == 1
        await turn()
        assert worker.ids == [job.id, job.id]
        held = store.get(job.id)
        assert held.dequeued_at == clock() > first
        return held

    held = run(body())
    before = fields(held)
    reopened, _ = crash_and_reopen(store, clock)
    assert fields(reopened.get(held.id)) == ("ready",) + before[1:]
    assert before[1] == 1
    reopened.close()


def test_recover_reads_an_in_flight_entry_of_the_previous_format(open_store, clock):
    """Stores written before the entry carried ``dequeued_at`` still recover:
    the job is ready again with the ``dequeued_at`` its record holds."""
    store = open_store()

    async def body():
        (job,) = await store.enqueue([req(priority=7)])
        Worker(store)
        await turn()
        return job

    job = run(body())
    store.ks.flush()
    key = codec.index_key(IN_FLIGHT, job.queue, job.id)
    store.ks.db.put(key, codec.index_value(job.priority, job.ready_at))
    reopened, report = crash_and_reopen(store, clock)
    assert report.orphans == 1
    assert fields(reopened.get(job.id)) == ("ready", 0, job.ready_at, None)
    assert reopened.ready.pop_best()[0] == job.id
    reopened.close()
