"""Reviving a dead job: ``ready`` at once, the admin's "retry now" on a dead job.

The HTTP API has no such operation (its PATCH refuses terminal jobs); the
Django admin offers it as Sidekiq's morgue does. The job keeps its
attempts and their error records (attempt numbers key them), so it gets
one more try before its retry limit sends it back to dead. Its purge
entry goes, and ``records.save`` gives its unique key back to it unless
another job took the key meanwhile (``unique.moved``), as for a requeued
job. It joins the ready index and wakes the dispatcher, so a waiting
worker gets it in the same turn. ``revive_matching`` does it for every
dead match of a filter that is still visible (not past its purge time).
"""

from ..errors import NotFound, Unprocessable
from ..types import DEAD, READY
from . import records, scan


def revive(store, job_id: str, now_ms: int):
    """Make the dead job ``job_id`` ready now; NotFound, or Unprocessable."""
    job = records.load(store, job_id)
    if job is None or not job.visible_at(now_ms):
        raise NotFound("job not found")
    if job.status != DEAD:
        raise Unprocessable(
            f"cannot revive job {job.id} in {job.status_name} status (only dead jobs)"
        )
    old_purge_at = job.purge_at
    job.status = READY
    job.ready_at = now_ms
    job.purge_at = None
    records.save(store, job, DEAD, job.queue, old_purge_at)
    store.ready.add(job.id, job.queue, job.priority)
    store.dispatcher.schedule()
    return job


def revive_matching(store, job_filter, now_ms: int) -> int:
    """Revive every visible dead job matching the filter; returns how many."""
    ids = [
        job.id
        for job in scan.matching_jobs(store, job_filter, now_ms)
        if job.status == DEAD
    ]
    for job_id in ids:
        revive(store, job_id, now_ms)
    return len(ids)
