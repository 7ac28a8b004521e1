"""Writing a job's persisted form: its record, its index entry, its counts.

Every status change goes through ``save`` (``save_new`` for new jobs),
``refile`` or ``drop``, so the ``J`` record, the ``I`` index entry, the
``P`` purge entry and the in-memory per-queue counts can never disagree.
The same four are where the dashboard feed hears of every status change
while it is attached (``queue_core.feed``; ``store.feed`` is None
otherwise, and each hook costs one attribute test).
A keyed job's status changes reach ``unique`` from here too (``moved``,
``release``), so its key is taken and let go in the same batch, and a
batched job's reach ``batch`` (``left_ready``, ``release``), so a target
that leaves ``ready`` stops being one in the batch that moves it.
An ``in_flight`` index entry carries the job's ``dequeued_at`` too, so the
write that puts a job in flight holds all that recovery needs to return it
to ``ready`` as it was, record or no record (``refile``).
"""

from .. import codec
from ..types import IN_FLIGHT, Job
from . import batch, unique


def load(store, job_id: str):
    """The stored job (including this turn's writes), or None.

    An in-flight job comes from memory: that copy is the authoritative one.
    """
    job = store.dispatcher.job(job_id)
    if job is not None:
        return job
    data = store.ks.get(codec.job_key(job_id))
    return None if data is None else codec.decode_job(job_id, data)


def save(store, job: Job, old_status=None, old_queue=None, old_purge_at=None) -> None:
    """Persist ``job``; ``old_*`` describe the entries it had before, if any."""
    ks = store.ks
    ks.put(codec.job_key(job.id), codec.encode_job(job))
    if old_status is not None and (old_status != job.status or old_queue != job.queue):
        ks.delete(codec.index_key(old_status, old_queue, job.id))
        _count(store, old_queue, old_status, -1)
        _count(store, job.queue, job.status, 1)
    elif old_status is None:
        _count(store, job.queue, job.status, 1)
    ks.put(codec.index_key(job.status, job.queue, job.id), _index_value(job))
    if old_purge_at is not None and old_purge_at != job.purge_at:
        ks.delete(codec.purge_key(old_purge_at, job.id))
    if job.purge_at is not None and job.purge_at != old_purge_at:
        ks.put(codec.purge_key(job.purge_at, job.id), b"")
    if old_status != job.status:
        if job.unique_key is not None:
            unique.moved(store, job)
        if job.batch is not None:
            batch.left_ready(store, job)
    if store.feed is not None:
        store.feed.moved(job, old_status)


def save_new(store, jobs) -> None:
    """Persist jobs never stored before (an enqueue's: no purge entry yet).

    ``save`` for each, minus its checks for entries to replace, in one
    compiled pass (``codec.put_new_jobs``). Only adding to the counts, it
    never leaves a zero there, as ``_count`` would not.
    """
    codec.put_new_jobs(jobs, store.ks.pending_writes(), store.counts)
    if store.feed is not None:
        store.feed.added(jobs)


def refile(store, job: Job, old_status: int) -> None:
    """Move a claimed job's index entry to ``in_flight``; the record is not
    rewritten.

    Only take uses it: a claimed job's record keeps saying ``ready`` and
    keeps its previous ``dequeued_at`` (its in-memory copy is authoritative
    while it is in flight), which saves encoding and writing the whole
    record for every job handed out. Start-up recovery finds the job by the
    ``in_flight`` entry and takes the take's ``dequeued_at`` from its value.
    """
    ks = store.ks
    ks.delete(codec.index_key(old_status, job.queue, job.id))
    ks.put(
        codec.index_key(job.status, job.queue, job.id),
        codec.in_flight_value(job.priority, job.ready_at, job.dequeued_at),
    )
    _count(store, job.queue, old_status, -1)
    _count(store, job.queue, job.status, 1)
    if job.unique_key is not None:
        unique.moved(store, job)
    if job.batch is not None:
        batch.release(store, job)
    if store.feed is not None:
        store.feed.moved(job, old_status)


def drop(store, job: Job, stored_status=None, stored_purge_at=None) -> None:
    """Delete a job and everything hanging off it.

    ``stored_status``/``stored_purge_at`` name the entries as persisted when
    the caller has already changed ``job`` in memory (e.g. a dead job that
    is deleted at once because its retention is zero).
    """
    status = job.status if stored_status is None else stored_status
    purge_at = job.purge_at if stored_status is None else stored_purge_at
    ks = store.ks
    ks.delete(codec.job_key(job.id))
    ks.delete(codec.index_key(status, job.queue, job.id))
    _count(store, job.queue, status, -1)
    for attempt in range(1, job.attempts + 1):
        ks.delete(codec.error_key(job.id, attempt))
    if purge_at is not None:
        ks.delete(codec.purge_key(purge_at, job.id))
    if job.unique_key is not None:
        unique.release(store, job)
    if job.batch is not None:
        batch.release(store, job)
    if store.feed is not None:
        store.feed.dropped(job, status)


def _index_value(job: Job) -> bytes:
    if job.status == IN_FLIGHT:
        return codec.in_flight_value(job.priority, job.ready_at, job.dequeued_at)
    return codec.index_value(job.priority, job.ready_at)


def _count(store, queue: str, status: int, delta: int) -> None:
    key = (queue, status)
    value = store.counts.get(key, 0) + delta
    if value:
        store.counts[key] = value
    else:
        store.counts.pop(key, None)
