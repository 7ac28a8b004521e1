"""Ack: an in-flight job is completed, retained or deleted at once.

Only jobs in the in-flight table can be acked, from any client. With a
completed-retention of zero (the default) the job vanishes; otherwise it is
kept as ``completed`` until ``purge_at``.

The job is written before it is released from its taker, and the record
is encoded before anything is written, so an ack that failed half way
would leave the job held, not lost between states. Nothing in it can fail
on user input: the purge time saturates, and the rest of the record was
encoded before. It completes the held job in place, without the copy a
nack makes (~2 us an ack, on the drain's hot path).
"""

from ..errors import NotFound
from ..scheduling import purge_at_ms
from ..types import COMPLETED, IN_FLIGHT
from . import events, records

NOT_IN_FLIGHT = "job not found in in-flight set"


def complete_one(store, job_id: str, now_ms: int) -> None:
    """Complete one job or raise NotFound."""
    job = store.dispatcher.job(job_id)
    if job is None:
        raise NotFound(NOT_IN_FLIGHT)
    purge_at = purge_at_ms(now_ms, store.completed_retention_ms(job))
    job.status = COMPLETED
    job.completed_at = now_ms
    if purge_at is None:
        records.drop(store, job, IN_FLIGHT, None)
    else:
        job.purge_at = purge_at
        records.save(store, job, IN_FLIGHT, job.queue, None)  # encodes first
    store.dispatcher.release(job_id)
    if events.enabled():
        events.job_event("job marked completed", job)


def complete_many(store, job_ids, now_ms: int) -> list:
    """Complete every in-flight id; return the others, de-duplicated, in order."""
    not_found = []
    seen = set()
    for job_id in job_ids:
        if job_id in seen:
            continue
        seen.add(job_id)
        try:
            complete_one(store, job_id, now_ms)
        except NotFound:
            not_found.append(job_id)
    return not_found
