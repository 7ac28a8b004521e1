"""Filtered list, count, bulk patch and delete over a real RocksDB and jq pool.

Enough jobs to take several batches (``DEFAULT_JQ_BATCH_JOBS``), so paging,
the doubling first batches and the batches in flight are all exercised.
"""

import asyncio

import pytest

from queue_core.clock import FakeClock
from queue_core.defaults import DEFAULT_JQ_BATCH_JOBS
from queue_core.errors import InvalidQuery
from queue_core.filters import parse_job_filter, parse_list_query
from queue_core.options import EnqueueRequest
from queue_core.sandbox import JqPool
from queue_core.store import Store
from queue_core.store.patch import PatchRequest

JOBS = 3 * DEFAULT_JQ_BATCH_JOBS + 50
RUNAWAY = "filter=if .n == 5 then last(repeat(1)) else true end"


@pytest.fixture
def open_store(tmp_path):
    stores = []

    def open_(**limits):
        store = Store(
            str(tmp_path / f"data{len(stores)}"), clock=FakeClock(), jq=JqPool(**limits)
        )
        store.recover()
        stores.append(store)
        return store

    yield open_
    for store in stores:
        if not store.closed:
            store.close()


def with_filled(open_store, body, total=JOBS, **limits):
    store = open_store(**limits)

    async def run():
        jobs = await store.enqueue(
            [EnqueueRequest("t", "q", b'{"n":%d}' % (i % 7)) for i in range(total)]
        )
        return await body(store, jobs)

    return asyncio.run(run())


def n_of(job) -> int:
    return int(job.payload[len(b'{"n":') : -1])


async def walk(store, query):
    """Every page's ids, following ``from`` cursors until ``more`` is False."""
    ids, cursor = [], ""
    while True:
        job_filter, options = parse_list_query(query + cursor)
        page, more = await store.list_jobs(job_filter, options)
        ids += [job.id for job in page]
        if not more:
            return ids
        cursor = f"&from={page[-1].id}"


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 40, 2000])
def test_filtered_pages_list_every_match_once_in_order(open_store, order, limit):
    async def body(store, jobs):
        expected = [job.id for job in jobs if n_of(job) == 3]
        expected = expected if order == "asc" else expected[::-1]
        assert (
            await walk(store, f"order={order}&limit={limit}&filter=.n == 3") == expected
        )

    with_filled(open_store, body, total=JOBS if limit > 1 else 60)


def test_filtered_count_over_many_batches(open_store):
    async def body(store, jobs):
        for n in range(7):
            expected = sum(1 for job in jobs if n_of(job) == n)
            assert await store.count(parse_job_filter(f"filter=.n == {n}")) == expected
        assert await store.count(parse_job_filter("filter=.n >= 0")) == JOBS
        assert await store.count(parse_job_filter("queue=other&filter=true")) == 0

    with_filled(open_store, body)


@pytest.mark.parametrize("query", ["filter=.[*]", "filter="])
def test_a_filter_that_does_not_compile_is_refused_over_an_empty_store(
    open_store, query
):
    store = open_store()
    job_filter = parse_job_filter(query)
    list_filter, options = parse_list_query(query)

    async def refusals():
        calls = [
            store.count(job_filter),
            store.list_jobs(list_filter, options),
            store.delete_matching(job_filter),
            store.patch_matching(job_filter, PatchRequest(priority=1)),
        ]
        messages = []
        for call in calls:
            with pytest.raises(InvalidQuery) as caught:
                await call
            messages.append(caught.value.message)
        return messages

    for message in asyncio.run(refusals()):
        assert message.startswith("invalid filter: ")


def test_bulk_patch_and_delete_change_only_matching_jobs(open_store):
    async def body(store, jobs):
        patched = await store.patch_matching(
            parse_job_filter("filter=.n == 2"), PatchRequest(priority=7)
        )
        twos = [job.id for job in jobs if n_of(job) == 2]
        assert patched == len(twos)
        assert await store.count(parse_job_filter("priority=7")) == len(twos)
        assert await store.count(parse_job_filter("priority=7&filter=.n != 2")) == 0
        deleted = await store.delete_matching(
            parse_job_filter("priority=7&filter=.n == 2")
        )
        assert deleted == len(twos) and all(store.get(i) is None for i in twos)
        assert await store.delete_matching(parse_job_filter("filter=.n == 99")) == 0
        assert await store.count(parse_job_filter("")) == JOBS - len(twos)

    with_filled(open_store, body)


def test_a_filter_past_its_time_limit_is_refused_and_changes_nothing(open_store):
    async def body(store, jobs):
        job_filter = parse_job_filter(RUNAWAY)
        list_filter, options = parse_list_query(RUNAWAY)
        calls = [
            store.count(job_filter),
            store.list_jobs(list_filter, options),
            store.patch_matching(job_filter, PatchRequest(priority=1)),
            store.delete_matching(job_filter),
        ]
        for call in calls:
            with pytest.raises(InvalidQuery) as caught:
                await call
            assert caught.value.message == "filter exceeded the time limit of 200 ms"
        assert await store.count(parse_job_filter("priority=1")) == 0
        assert await store.count(parse_job_filter("")) == 20

    with_filled(open_store, body, total=20, time_limit_ms=200)


def test_the_store_serves_other_operations_while_a_filter_runs_away(open_store):
    async def body(store, jobs):
        count = asyncio.ensure_future(store.count(parse_job_filter(RUNAWAY)))
        enqueue = asyncio.ensure_future(store.enqueue([EnqueueRequest("t", "q", b"1")]))
        done, _ = await asyncio.wait(
            {count, enqueue}, return_when=asyncio.FIRST_COMPLETED
        )
        assert done == {enqueue}
        with pytest.raises(InvalidQuery):
            await count

    with_filled(open_store, body, total=20)


def test_closing_the_store_ends_its_jq_workers(open_store):
    pids = []

    async def body(store, jobs):
        await store.count(parse_job_filter("filter=.n == 1"))
        pids.extend(store.jq.pids)
        store.close()
        return store.jq.pids

    assert with_filled(open_store, body, total=10) == []
    assert pids and all(not _exists(pid) for pid in pids)


def _exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat"):
            return True
    except FileNotFoundError:
        return False
