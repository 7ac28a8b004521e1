"""Killing a job: straight to ``dead``, the admin's "kill" (not in the API).

An in-flight job is failed with ``kill`` (``fail.fail``, the API's nack
with ``kill``): an error record says it was killed and its worker loses
it. A ready or scheduled job has no attempt to fail: it becomes dead
without a new error record and leaves its index, with its purge time from
its dead retention (zero: deleted at once, as after a fatal failure).
Terminal jobs are refused. ``records`` takes care of counts, purge entry
and unique key, so a kill is one more status change like the others.
``kill_matching`` kills every non-terminal match of a filter (the admin's
"all N jobs matching this filter").
"""

from ..errors import NotFound, Unprocessable
from ..options import FailureRequest
from ..scheduling import purge_at_ms
from ..types import DEAD, READY, TERMINAL
from . import fail, records, scan

KILLED = "killed from the admin"


def kill(store, job_id: str, now_ms: int):
    """Make ``job_id`` dead now; the job as it now is."""
    if store.dispatcher.job(job_id) is not None:
        return fail.fail(store, job_id, FailureRequest(KILLED, kill=True), now_ms)
    job = records.load(store, job_id)
    if job is None or not job.visible_at(now_ms):
        raise NotFound("job not found")
    if job.status in TERMINAL:
        raise Unprocessable(f"cannot kill job {job.id} in {job.status_name} status")
    old_status = job.status
    job.status = DEAD
    job.purge_at = purge_at_ms(now_ms, store.dead_retention_ms(job))
    if job.purge_at is None:
        records.drop(store, job, old_status, None)
    else:
        records.save(store, job, old_status, job.queue, None)  # encodes first
    if old_status == READY:
        store.ready.remove(job.id)
    else:
        store.scheduled.remove(job.id)
    return job


def kill_matching(store, job_filter, now_ms: int) -> int:
    """Kill every non-terminal job matching the filter; returns how many.

    The matches are collected before the first kill, so the scan never runs
    over its own writes.
    """
    ids = [
        job.id
        for job in scan.matching_jobs(store, job_filter, now_ms, visible=False)
        if job.status not in TERMINAL
    ]
    for job_id in ids:
        kill(store, job_id, now_ms)
    return len(ids)
