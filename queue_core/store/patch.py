"""Patching jobs: one by id, or every non-terminal job matching a filter.

A patch is a JSON-merge-patch (API.md 7.5.1): an omitted field is left
alone, ``None`` resets an override to the server default, a value sets it.
``UNSET`` marks omission, since ``None`` is meaningful. Moving a job
between queues, priorities or times updates the in-memory indexes in the
same step, so workers see the change at once; a job that became ready
wakes the dispatcher.

Nothing changes before everything that can fail has run: the patches are
applied to the jobs as read (an in-flight job, whose held copy is
authoritative, to a copy of it), each record is encoded before its writes,
and the indexes and the held copy are updated only after the write. A bulk
patch applies every patch before it writes any.
"""

from dataclasses import dataclass

from ..errors import NotFound, Unprocessable
from ..types import IN_FLIGHT, READY, SCHEDULED, TERMINAL, Retention
from . import records, scan


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


@dataclass(frozen=True)
class PatchRequest:
    """Fields to change; ``UNSET`` = leave alone, ``None`` = clear."""

    queue: object = UNSET
    priority: object = UNSET
    ready_at: object = UNSET
    retry_limit: object = UNSET
    backoff: object = UNSET
    retention: object = UNSET  # a dict with "completed_ms"/"dead_ms" keys, or None


def patch_one(store, job_id: str, request: PatchRequest, now_ms: int):
    """Patch one job; NotFound, or Unprocessable for a terminal job."""
    job = records.load(store, job_id)
    if job is None or not job.visible_at(now_ms):
        raise NotFound("job not found")
    if job.status in TERMINAL:
        raise Unprocessable(
            f"cannot patch job {job.id} in {job.status_name} status"
        )
    change = _patched(job, request, now_ms)
    _write(store, *change)
    return change[0]


def patch_matching(store, job_filter, request: PatchRequest, now_ms: int) -> int:
    """Patch every non-terminal job matching the filter; returns how many."""
    changes = [
        _patched(job, request, now_ms)
        for job in scan.matching_jobs(store, job_filter, now_ms, visible=False)
        if job.status not in TERMINAL
    ]
    for change in changes:
        _write(store, *change)
    return len(changes)


def _patched(job, request: PatchRequest, now_ms: int):
    """``(patched job, status, queue)``: the job patched, and as it was stored.

    An in-flight job is patched on a copy: the held one is its taker's until
    the write has been made.
    """
    old_status, old_queue = job.status, job.queue
    if old_status == IN_FLIGHT:
        job = job.copy()
    if request.queue is not UNSET:
        job.queue = request.queue
    if request.priority is not UNSET:
        job.priority = request.priority
    if request.retry_limit is not UNSET:
        job.retry_limit = request.retry_limit
    if request.backoff is not UNSET:
        job.backoff = request.backoff
    if request.retention is not UNSET:
        job.retention = _merge_retention(job.retention, request.retention)
    if request.ready_at is not UNSET:
        _move_in_time(job, request.ready_at, now_ms)
    return job, old_status, old_queue


def _write(store, job, old_status: int, old_queue: str) -> None:
    records.save(store, job, old_status, old_queue, job.purge_at)  # encodes first
    taker = store.dispatcher.in_flight.get(job.id)
    if taker is not None:
        taker.in_flight[job.id] = job
    _reindex(store, job, old_status == READY)
    if store.feed is not None:
        store.feed.patched()  # dashboards take a full snapshot (spec 6.3)


def _move_in_time(job, ready_at, now_ms: int) -> None:
    if ready_at is None:
        if job.status == SCHEDULED:
            job.ready_at = now_ms
            job.status = READY
        return
    job.ready_at = ready_at
    if job.status == READY and ready_at > now_ms:
        job.status = SCHEDULED
    elif job.status == SCHEDULED and ready_at <= now_ms:
        job.status = READY


def _reindex(store, job, was_ready: bool) -> None:
    """Bring the ready/scheduled indexes in line with the patched job.

    An in-flight job stays with its worker; only its record changed.
    """
    if was_ready and job.status != READY:
        store.ready.remove(job.id)
    if job.status == READY:
        store.scheduled.remove(job.id)
        store.ready.add(job.id, job.queue, job.priority)
        store.dispatcher.schedule()
    elif job.status == SCHEDULED:
        store.add_scheduled(job.id, job.ready_at)


def _merge_retention(current, patch):
    if patch is None:
        return None
    completed, dead = current if current is not None else (None, None)
    completed = patch.get("completed_ms", completed)
    dead = patch.get("dead_ms", dead)
    if completed is None and dead is None:
        return None
    return Retention(completed, dead)
