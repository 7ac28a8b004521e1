"""Id-ordered streams of candidate jobs for list, count, patch and delete.

Listing pages in id order, so candidates come from the ``I`` index: one
range scan per selected (status, queue) pair, each already in id order,
merged into one stream. A filter on status or queue therefore touches only
the matching index ranges, and priority/``ready_at`` ranges are tested on
the index value before any record is decoded. An ``id`` filter skips the
index altogether and looks the ids up directly.

Scans read committed data, so the pending batch is flushed first.
"""

import heapq

from .. import codec
from ..types import STATUS_NAMES
from .keyspace import prefix_end
from . import records

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
    """Jobs that match the whole filter, in id order.

    ``visible`` hides retained jobs past their purge time, as list and count
    must; bulk patch and delete see raw stored jobs (API.md 6).
    """
    for job_id in candidate_ids(store, job_filter, order, from_id):
        job = records.load(store, job_id)
        if job is None or (visible and not job.visible_at(now_ms)):
            continue
        if job_filter.matches(job):
            yield job


def count(store, job_filter, now_ms: int) -> int:
    """Visible jobs matching the filter; from the counters when possible."""
    f = job_filter
    if f.ids or f.types or f.priority or f.ready_at or f.attempts or f.payload:
        return sum(1 for _ in matching_jobs(store, f, now_ms))
    pairs = _pairs(store, f)
    total = sum(store.counts[(queue, status)] for status, queue in pairs)
    return total - _expired_among(store, set(pairs), now_ms)


def _expired_among(store, pairs: set, now_ms: int) -> int:
    """Retained jobs past purge time but not yet reaped, within ``pairs``."""
    store.ks.flush()
    expired = 0
    for key, _ in store.ks.scan(codec.PURGE_TAG, codec.purge_bound(now_ms)):
        job = records.load(store, codec.parse_purge_key(key)[1])
        if job is not None and (job.status, job.queue) in pairs:
            expired += 1
    return expired


__all__ = ["candidate_ids", "matching_jobs", "count", "STATUS_NAMES"]
