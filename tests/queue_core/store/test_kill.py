"""Killing jobs (the admin's kill) in each status, on a real RocksDB."""

import pytest

from queue_core import codec
from queue_core.errors import NotFound, Unprocessable
from queue_core.filters import ErrorListOptions, JobFilter
from queue_core.types import DEAD, IN_FLIGHT, READY, SCHEDULED, Retention

from .conftest import run, turn
from .test_lifecycle import Worker, req


def test_ready_and_scheduled_jobs_die_without_an_attempt(store, clock):
    async def body():
        ready, later = await store.enqueue([req(), req(ready_at=clock() + 60_000)])
        for job in (ready, later):
            killed = await store.kill(job.id)
            assert killed.status == DEAD and killed.attempts == 0
            assert store.ks.get(codec.purge_key(killed.purge_at, job.id)) == b""
        worker = Worker(store)
        clock.advance(120_000)
        assert await store.promote_due(100) == 0
        await turn()
        assert worker.ids == []
        assert store.counts[("q", DEAD)] == 2
        assert store.counts.get(("q", READY), 0) == 0
        assert store.counts.get(("q", SCHEDULED), 0) == 0
        assert store.list_errors(ready.id, ErrorListOptions())[0] == []

    run(body())


def test_an_in_flight_job_is_failed_with_kill(store):
    async def body():
        (job,) = await store.enqueue([req()])
        worker = Worker(store)
        await turn()
        assert worker.ids == [job.id]
        killed = await store.kill(job.id)
        assert (killed.status, killed.attempts) == (DEAD, 1)
        assert store.error(job.id, 1).message == "killed from the admin"
        assert store.dispatcher.job(job.id) is None

    run(body())


def test_zero_dead_retention_deletes_and_terminal_jobs_are_refused(store):
    async def body():
        (gone,) = await store.enqueue([req(retention=Retention(None, 0))])
        await store.kill(gone.id)
        assert store.get(gone.id) is None
        (dead,) = await store.enqueue([req()])
        await store.kill(dead.id)
        with pytest.raises(Unprocessable, match="in dead status"):
            await store.kill(dead.id)
        with pytest.raises(NotFound):
            await store.kill("03abcdefghijklmnopqrstuvw")

    run(body())


def test_kill_matching_kills_waiting_and_in_flight_matches_only(store, clock):
    async def body():
        taken, ready = await store.enqueue([req(), req()])
        worker = Worker(store, prefetch=1)
        await turn()
        assert worker.ids == [taken.id]
        (later,) = await store.enqueue([req(ready_at=clock() + 60_000)])
        (other,) = await store.enqueue([req(queue="other")])
        in_q = JobFilter(queues=frozenset({"q"}))
        assert await store.kill_matching(in_q) == 3
        assert await store.kill_matching(in_q) == 0  # terminal ones are left
        statuses = [store.get(j.id).status for j in (taken, ready, later, other)]
        assert statuses == [DEAD, DEAD, DEAD, IN_FLIGHT]  # the freed slot took it
        assert store.counts.get(("q", DEAD)) == 3
        store.close_taker(worker.taker)

    run(body())
