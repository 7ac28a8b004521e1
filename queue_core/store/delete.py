"""Deleting jobs: one by id, or everything (reset).

A deleted job leaves whichever in-memory index held it; an in-flight job
also leaves its taker, which frees that stream's prefetch slot, and its
worker's later ack or nack finds nothing (404).
"""

from .. import codec
from ..errors import NotFound
from ..types import IN_FLIGHT, READY, SCHEDULED
from . import records


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


def delete_all(store) -> int:
    """Delete every job (``POST /reset``); returns how many."""
    store.ks.flush()
    deleted = 0
    for key, value in list(store.ks.scan(codec.JOB_TAG, codec.JOB_TAG + b"\xff")):
        job = codec.decode_job(key[1:].decode(), value)
        forget(store, job)
        records.drop(store, job)
        deleted += 1
    return deleted
