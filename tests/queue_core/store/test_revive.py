"""Reviving dead jobs (the admin's retry of a dead job), on a real RocksDB."""

import pytest

from queue_core import codec
from queue_core.errors import NotFound, Unprocessable
from queue_core.filters import JobFilter
from queue_core.options import FailureRequest
from queue_core.types import DEAD, READY, Retention

from .conftest import run, turn
from .test_lifecycle import Worker, req


async def _dead(store, **fields):
    """A job taken and failed with kill; the worker that took it."""
    (job,) = await store.enqueue([req(**fields)])
    worker = Worker(store)
    await turn()
    failed = await store.fail(job.id, FailureRequest("boom", "E", "trace", kill=True))
    assert failed.status == DEAD and failed.purge_at is not None
    return failed, worker


def test_a_revived_job_is_ready_now_and_reaches_a_waiting_worker(open_store, clock):
    store = open_store()

    async def body():
        dead, worker = await _dead(store)
        worker.got.clear()
        clock.advance(5_000)
        revived = await store.revive(dead.id)
        assert (revived.status, revived.ready_at) == (READY, clock())
        assert revived.purge_at is None and revived.attempts == 1
        await turn()
        assert worker.ids == [dead.id]
        return dead

    dead = run(body())
    assert store.counts.get(("q", DEAD), 0) == 0
    assert store.error(dead.id, 1).message == "boom"
    assert store.ks.get(codec.purge_key(dead.purge_at, dead.id)) is None
    store = open_store()  # what was written is what recovery finds
    assert store.get(dead.id).status == READY  # its take returned at close
    assert store.get(dead.id).purge_at is None


def test_only_visible_dead_jobs_are_revived(store, clock):
    async def body():
        (ready,) = await store.enqueue([req(queue="other")])
        with pytest.raises(Unprocessable, match="in ready status"):
            await store.revive(ready.id)
        with pytest.raises(NotFound):
            await store.revive("03abcdefghijklmnopqrstuvw")
        dead, _ = await _dead(store)
        clock.advance(dead.purge_at - clock() + 1)
        with pytest.raises(NotFound):
            await store.revive(dead.id)

    run(body())


def test_a_revived_job_takes_its_unique_key_back_only_if_free(store):
    async def body():
        dead, worker = await _dead(store, unique_key="k", unique_while="queued")
        store.close_taker(worker.taker)  # nobody takes it once revived
        assert "k" not in store.unique
        await store.revive(dead.id)
        assert store.unique["k"] == dead.id
        worker = Worker(store)
        await turn()  # taken again: in flight, a queued key is let go
        assert worker.ids == [dead.id] and "k" not in store.unique
        await store.fail(dead.id, FailureRequest("again", kill=True))
        store.close_taker(worker.taker)
        (newer,) = await store.enqueue([req(unique_key="k", unique_while="queued")])
        await store.revive(dead.id)
        assert store.unique["k"] == newer.id

    run(body())


def test_revive_matching_takes_only_the_visible_dead_matches(store, clock):
    async def dead_job(**fields):
        job, worker = await _dead(store, **fields)
        store.close_taker(worker.taker)
        return job

    async def body():
        gone = await dead_job(queue="gone", retention=Retention(None, 10))
        dead = [await dead_job(), await dead_job()]
        (ready,) = await store.enqueue([req()])
        clock.advance(11)  # ``gone`` is past its purge time, not yet purged
        assert await store.revive_matching(JobFilter()) == 2
        assert [store.get(job.id).status for job in dead] == [READY, READY]
        assert store.get(ready.id).ready_at == ready.ready_at  # not touched
        assert store.ks.get(codec.purge_key(gone.purge_at, gone.id)) == b""

    run(body())
