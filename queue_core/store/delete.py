"""Deleting jobs: one by id, or every job matching a filter.

A deleted job leaves whichever in-memory index held it; an in-flight job
also leaves its taker, which frees that stream's prefetch slot, and its
worker's later ack or nack finds nothing (404).
"""

from ..errors import NotFound
from ..types import IN_FLIGHT, READY, SCHEDULED
from . import records, scan


def delete_one(store, job_id: str) -> None:
    """Delete a job in any status (even past its purge time) or raise NotFound."""
    job = records.load(store, job_id)
    if job is None:
        raise NotFound("job not found")
    forget(store, job)
    records.drop(store, job)


def forget(store, job) -> None:
    """Remove a job from the in-memory index matching its status."""
    if job.status == READY:
        store.ready.remove(job.id)
    elif job.status == SCHEDULED:
        store.scheduled.remove(job.id)
    elif job.status == IN_FLIGHT:
        store.dispatcher.release(job.id)


def delete_matching(store, job_filter, now_ms: int) -> int:
    """Delete every stored job matching the filter, expired ones included.

    An empty filter deletes everything (``DELETE /jobs``, ``POST /reset``).
    The matches are collected before the first delete so the scan never
    runs over its own writes.
    """
    jobs = list(scan.matching_jobs(store, job_filter, now_ms, visible=False))
    for job in jobs:
        forget(store, job)
        records.drop(store, job)
    return len(jobs)
