"""Patching jobs: one by id, or every non-terminal job matching a filter.

A patch is a JSON-merge-patch (API.md 7.5.1): an omitted field is left
alone, ``None`` resets an override to the server default, a value sets it.
``UNSET`` marks omission, since ``None`` is meaningful. Moving a job
between queues, priorities or times updates the in-memory indexes in the
same step, so workers see the change at once; a job that became ready
wakes the dispatcher.
"""

from dataclasses import dataclass

from ..errors import NotFound, Unprocessable
from ..types import READY, SCHEDULED, TERMINAL, Retention
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
    _apply(store, job, request, now_ms)
    return job


def patch_matching(store, job_filter, request: PatchRequest, now_ms: int) -> int:
    """Patch every non-terminal job matching the filter; returns how many."""
    jobs = [
        job
        for job in scan.matching_jobs(store, job_filter, now_ms, visible=False)
        if job.status not in TERMINAL
    ]
    for job in jobs:
        _apply(store, job, request, now_ms)
    return len(jobs)


def _apply(store, job, request: PatchRequest, now_ms: int) -> None:
    old_status, old_queue = job.status, job.queue
    was_ready = old_status == READY
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
    records.save(store, job, old_status, old_queue, job.purge_at)
    _reindex(store, job, was_ready)


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
