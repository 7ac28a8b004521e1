"""Engine list, count, patch and delete on a real RocksDB."""

import pytest

from queue_core.errors import NotFound, Unprocessable
from queue_core.filters import parse_job_filter, parse_list_query
from queue_core.options import EnqueueRequest
from queue_core.store.patch import PatchRequest
from queue_core.types import Retention

from .conftest import run, turn
from .test_lifecycle import Worker, req


def test_list_pages_in_id_order_with_filters(store):
    async def body():
        jobs = await store.enqueue(
            [req("a", 1), req("b", 2), req("a", 3), req("b", 4), req("a", 5)]
        )
        f, options = parse_list_query("queue=a&order=desc&limit=2")
        page, more = await store.list_jobs(f, options)
        assert [j.id for j in page] == [jobs[4].id, jobs[2].id] and more
        f, options = parse_list_query(f"queue=a&order=desc&limit=2&from={jobs[2].id}")
        page, more = await store.list_jobs(f, options)
        assert [j.id for j in page] == [jobs[0].id] and not more
        f, options = parse_list_query("priority=2..4")
        assert [j.id for j in (await store.list_jobs(f, options))[0]] == [
            jobs[1].id, jobs[2].id, jobs[3].id,
        ]
        assert await store.count(parse_job_filter("queue=b")) == 2
        assert await store.count(parse_job_filter("priority=..3")) == 3
        assert await store.count(parse_job_filter("")) == 5

    run(body())


def test_count_and_list_hide_expired_but_delete_sees_them(open_store, clock):
    store = open_store(default_completed_retention_ms=10)

    async def body():
        (job,) = await store.enqueue([req()])
        Worker(store)
        await turn()
        await store.complete(job.id)
        assert await store.count(parse_job_filter("status=completed")) == 1
        clock.advance(10)
        assert await store.count(parse_job_filter("status=completed")) == 0
        assert await store.count(parse_job_filter("")) == 0
        assert await store.delete_matching(parse_job_filter("")) == 1

    run(body())


def test_patch_moves_between_queues_priorities_and_times(store, clock):
    async def body():
        a, b = await store.enqueue([req("a", 10), req("a", 20)])
        moved = await store.patch(b.id, PatchRequest(queue="z", priority=1))
        assert (moved.queue, moved.priority) == ("z", 1)
        later = await store.patch(a.id, PatchRequest(ready_at=clock() + 50))
        assert later.status_name == "scheduled"
        worker = Worker(store, frozenset({"a", "z"}))
        await turn()
        assert worker.ids == [b.id]
        now = await store.patch(a.id, PatchRequest(ready_at=None))
        assert now.status_name == "ready" and now.ready_at == clock()
        await turn()
        assert worker.ids == [b.id, a.id]
        assert store.queues() == ["a", "z"]

    run(body())


def test_patch_overrides_and_retention_merge(store):
    async def body():
        (job,) = await store.enqueue([req(retry_limit=3, retention=Retention(1, 2))])
        patched = await store.patch(
            job.id, PatchRequest(retry_limit=None, retention={"dead_ms": None})
        )
        assert patched.retry_limit is None and patched.retention == Retention(1, None)
        cleared = await store.patch(job.id, PatchRequest(retention={"completed_ms": None}))
        assert cleared.retention is None

    run(body())


def test_patch_refuses_terminal_and_unknown_jobs(open_store):
    store = open_store(default_completed_retention_ms=1000)

    async def body():
        (job,) = await store.enqueue([req()])
        Worker(store)
        await turn()
        in_flight = await store.patch(job.id, PatchRequest(priority=7))
        assert in_flight.status_name == "in_flight" and in_flight.priority == 7
        await store.complete(job.id)
        with pytest.raises(Unprocessable, match="in completed status"):
            await store.patch(job.id, PatchRequest(priority=1))
        with pytest.raises(NotFound):
            await store.patch("nope", PatchRequest())
        f = parse_job_filter("")
        assert await store.patch_matching(f, PatchRequest(priority=1)) == 0

    run(body())


def test_delete_in_flight_frees_the_slot(store):
    async def body():
        first, second = await store.enqueue([req(), req()])
        worker = Worker(store, prefetch=1)
        await turn()
        await store.delete(first.id)
        await turn()
        assert worker.ids == [first.id, second.id]
        with pytest.raises(NotFound):
            await store.complete(first.id)
        with pytest.raises(NotFound):
            await store.delete(first.id)

    run(body())


def test_reset_deletes_everything(store, clock):
    async def body():
        await store.enqueue([req(), req(ready_at=clock() + 5), req("b")])
        Worker(store, prefetch=1)
        await turn()
        assert await store.reset() == 3
        assert store.queues() == [] and len(store.ready) == 0
        assert len(store.scheduled) == 0 and store.dispatcher.in_flight == {}

    run(body())


def test_fsync_commit_mode_writes_synchronously(open_store):
    store = open_store(default_fsync=True, enqueue_fsync=True)

    async def body():
        (job,) = await store.enqueue([EnqueueRequest("t", "q", b"1")])
        assert store.ks.db.get(b"J" + job.id.encode()) is not None

    run(body())
