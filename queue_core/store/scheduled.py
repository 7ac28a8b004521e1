"""Time-driven transitions: promoting due scheduled jobs, purging expired ones.

Both work in bounded batches so one pass never blocks the event loop for
long; the background loops call them again while a batch comes back full.
Promotion keeps the job's ``ready_at`` (API.md 4.2).
"""

from .. import codec
from ..types import READY, SCHEDULED
from . import records


def promote_due(store, now_ms: int, limit: int) -> int:
    """Make up to ``limit`` due scheduled jobs ready; returns how many."""
    promoted = 0
    for job_id in store.scheduled.pop_due(now_ms, limit):
        job = records.load(store, job_id)
        if job is None or job.status != SCHEDULED:
            continue
        job.status = READY
        records.save(store, job, SCHEDULED, job.queue, job.purge_at)
        store.ready.add(job.id, job.queue, job.priority)
        promoted += 1
    if promoted:
        store.dispatcher.schedule()
    return promoted


def purge_expired(store, now_ms: int, limit: int) -> int:
    """Delete up to ``limit`` jobs whose ``purge_at <= now``; returns how many."""
    store.ks.flush()
    purged = 0
    for key, _ in store.ks.scan(codec.PURGE_TAG, codec.purge_bound(now_ms)):
        if purged >= limit:
            break
        purge_at, job_id = codec.parse_purge_key(key)
        job = records.load(store, job_id)
        if job is None or job.purge_at != purge_at:
            store.ks.delete(key)  # a leftover of a job already gone
            continue
        records.drop(store, job)
        purged += 1
    return purged
