"""Id-ordered streams of candidate jobs for list, count, patch and delete.

Listing pages in id order, so candidates come from the ``I`` index: one
range scan per selected (status, queue) pair, each already in id order,
merged into one stream. A filter on status or queue therefore touches only
the matching index ranges, and priority/``ready_at`` ranges are tested on
the index value before any record is decoded. An ``id`` filter skips the
index altogether and looks the ids up directly.

Scans read committed data, so the pending batch is flushed first.

A jq ``filter`` is tested last, in the store's jq pool: the jobs that pass
every other test go there in batches (at most ``DEFAULT_JQ_BATCH_JOBS``
jobs and about ``DEFAULT_JQ_BATCH_BYTES`` of payload; a page starts with
as many jobs as it wants and doubles), as many batches in flight as the
pool has workers, so reading the next batch overlaps matching this one.
The loop serves other requests while a batch is out, so what a filtered
list or count reads is not one snapshot; a bulk patch or delete, which
must be, first settles the payload test into the set of matching ids
(``settle_payload``) and then runs its synchronous scan over those ids,
with every other test applied again to the jobs as they are by then.
"""

import asyncio
import heapq
from collections import deque
from dataclasses import replace
from itertools import islice

from .. import codec, payload_filter
from ..defaults import DEFAULT_JQ_BATCH_BYTES, DEFAULT_JQ_BATCH_JOBS
from ..types import STATUS_NAMES
from . import records
from .keyspace import prefix_end

ASC = "asc"


def _pairs(store, job_filter) -> list:
    """Every (status, queue) pair that has stored jobs and passes the filter."""
    statuses = job_filter.statuses
    queues = job_filter.queues
    return [
        (status, queue)
        for (queue, status) in store.counts
        if (not statuses or status in statuses) and (not queues or queue in queues)
    ]


def _range_scan(store, status, queue, order, from_id, job_filter):
    prefix = codec.index_prefix(status, queue)
    if order == ASC:
        start = prefix if from_id is None else prefix + from_id.encode() + b"\x00"
        rows = store.ks.scan(start, prefix_end(prefix))
    else:
        stop = prefix_end(prefix) if from_id is None else prefix + from_id.encode()
        rows = store.ks.scan_reverse(prefix, stop)
    priority, ready_at = job_filter.priority, job_filter.ready_at
    cut = len(prefix)
    for key, value in rows:
        if priority is not None or ready_at is not None:
            p, r = codec.parse_index_value(value)
            if priority is not None and not priority.contains(p):
                continue
            if ready_at is not None and not ready_at.contains(r):
                continue
        yield key[cut:].decode()


def candidate_ids(store, job_filter, order: str = ASC, from_id=None):
    """Ids that may match, in id order, strictly after ``from_id``."""
    store.ks.flush()
    if job_filter.ids:
        ids = sorted(job_filter.ids, reverse=order != ASC)
        if from_id is not None:
            ids = [i for i in ids if (i > from_id if order == ASC else i < from_id)]
        return iter(ids)
    scans = [
        _range_scan(store, status, queue, order, from_id, job_filter)
        for status, queue in _pairs(store, job_filter)
    ]
    if len(scans) == 1:
        return scans[0]
    return heapq.merge(*scans, reverse=order != ASC)


def matching_jobs(store, job_filter, now_ms, order=ASC, from_id=None, visible=True):
    """Jobs that match a filter without a payload test, in id order.

    ``visible`` hides retained jobs past their purge time, as list and count
    must; bulk patch and delete see raw stored jobs (API.md 6).
    """
    if job_filter.payload is not None:
        raise ValueError("settle the payload filter first")
    return _meta_matches(store, job_filter, now_ms, order, from_id, visible)


def _meta_matches(store, job_filter, now_ms, order, from_id, visible):
    for job_id in candidate_ids(store, job_filter, order, from_id):
        job = records.load(store, job_id)
        if job is None or (visible and not job.visible_at(now_ms)):
            continue
        if job_filter.matches_meta(job):
            yield job


async def first_matches(store, job_filter, now_ms, order, from_id, wanted: int) -> list:
    """Up to ``wanted`` visible jobs matching the whole filter, in id order."""
    jobs = _meta_matches(store, job_filter, now_ms, order, from_id, True)
    if job_filter.payload is None:
        return list(islice(jobs, wanted))
    found = []

    def keep(job) -> bool:
        found.append(job)
        return len(found) >= wanted

    await _payload_matches(store, job_filter.payload, jobs, keep, wanted)
    return found


async def count(store, job_filter, now_ms: int) -> int:
    """Visible jobs matching the filter; from the counters when possible."""
    f = job_filter
    if f.payload is not None:
        total = 0

        def keep(_job) -> bool:
            nonlocal total
            total += 1
            return False

        jobs = _meta_matches(store, f, now_ms, ASC, None, True)
        await _payload_matches(store, f.payload, jobs, keep, DEFAULT_JQ_BATCH_JOBS)
        return total
    if f.ids or f.types or f.priority or f.ready_at or f.attempts:
        return sum(1 for _ in matching_jobs(store, f, now_ms))
    pairs = _pairs(store, f)
    total = sum(store.counts[(queue, status)] for status, queue in pairs)
    return total - _expired_among(store, set(pairs), now_ms)


async def settle_payload(store, job_filter, now_ms: int):
    """The filter with its payload test replaced by the ids that pass it.

    Stored jobs are seen raw (bulk patch and delete). Returns the filter
    itself when it has no payload test, and None when no job passes.
    """
    if job_filter.payload is None:
        return job_filter
    ids = []

    def keep(job) -> bool:
        ids.append(job.id)
        return False

    jobs = _meta_matches(store, job_filter, now_ms, ASC, None, False)
    await _payload_matches(store, job_filter.payload, jobs, keep, DEFAULT_JQ_BATCH_JOBS)
    return replace(job_filter, ids=frozenset(ids), payload=None) if ids else None


async def _payload_matches(store, predicate, jobs, keep, first: int) -> None:
    """Call ``keep`` on each of ``jobs`` whose payload matches, in order.

    ``keep`` returns True when it has had enough. The first batch's reply
    refuses a filter that does not compile; with no job to send, the filter
    is compiled alone, so a bad one is refused over an empty store too.
    """
    pool = store.jq
    pending = deque()  # (batch, task), oldest first
    sent = False
    try:
        for batch in _batches(jobs, first):
            payloads = [job.payload for job in batch]
            task = asyncio.ensure_future(
                payload_filter.matches(pool, predicate, payloads)
            )
            pending.append((batch, task))
            sent = True
            if len(pending) >= pool.workers and await _deliver(pending.popleft(), keep):
                return
        while pending:
            if await _deliver(pending.popleft(), keep):
                return
        if not sent:
            await payload_filter.matches(pool, predicate, [])
    finally:
        for _, task in pending:
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: the first failure is reported


def _batches(jobs, size: int):
    """Lists of jobs, ``size`` first, doubling up to the batch bounds."""
    size = min(size, DEFAULT_JQ_BATCH_JOBS)
    batch, payload_bytes = [], 0
    for job in jobs:
        batch.append(job)
        payload_bytes += len(job.payload)
        if len(batch) >= size or payload_bytes >= DEFAULT_JQ_BATCH_BYTES:
            yield batch
            batch, payload_bytes = [], 0
            size = min(size * 2, DEFAULT_JQ_BATCH_JOBS)
    if batch:
        yield batch


async def _deliver(entry, keep) -> bool:
    """Hand a batch's matches to ``keep``; True when it has had enough."""
    batch, task = entry
    verdicts = await task
    for job, verdict in zip(batch, verdicts):
        if verdict and keep(job):
            return True
    return False


def _expired_among(store, pairs: set, now_ms: int) -> int:
    """Retained jobs past purge time but not yet reaped, within ``pairs``."""
    store.ks.flush()
    expired = 0
    for key, _ in store.ks.scan(codec.PURGE_TAG, codec.purge_bound(now_ms)):
        job = records.load(store, codec.parse_purge_key(key)[1])
        if job is not None and (job.status, job.queue) in pairs:
            expired += 1
    return expired


__all__ = [
    "STATUS_NAMES",
    "candidate_ids",
    "count",
    "first_matches",
    "matching_jobs",
    "settle_payload",
]
