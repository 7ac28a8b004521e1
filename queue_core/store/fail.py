"""Nack: record the failure, then retry later or let the job die.

Order of decisions (API.md 7.3.4): ``kill`` wins, then an explicit
``retry_at`` (which bypasses backoff and the retry limit), then the retry
limit, then the backoff formula. Every failure writes an error record,
kills included. A dead job with zero dead-retention is deleted at once but
the caller still reports it as ``dead``.
"""

from .. import codec
from ..errors import NotFound
from ..scheduling import backoff_delay_ms, purge_at_ms
from ..types import DEAD, IN_FLIGHT, SCHEDULED, ErrorRecord
from . import events, records
from .complete import NOT_IN_FLIGHT


def fail(store, job_id: str, request, now_ms: int):
    """Apply a failure to an in-flight job; return the job as it now is."""
    job = store.dispatcher.release(job_id)
    if job is None:
        raise NotFound(NOT_IN_FLIGHT)
    job.attempts += 1
    job.failed_at = now_ms
    record = ErrorRecord(
        job.attempts,
        request.message,
        request.error_type,
        request.backtrace,
        job.dequeued_at,
        now_ms,
    )
    store.ks.put(codec.error_key(job.id, job.attempts), codec.encode_error(record))
    if request.kill or (
        request.retry_at is None and job.attempts > store.retry_limit(job)
    ):
        _kill(store, job, now_ms)
    else:
        _reschedule(store, job, request.retry_at, now_ms)
    if events.enabled():
        events.job_event("job failure recorded", job, attempts=job.attempts)
    return job


def _kill(store, job, now_ms: int) -> None:
    job.status = DEAD
    job.purge_at = purge_at_ms(now_ms, store.dead_retention_ms(job))
    if job.purge_at is None:
        records.drop(store, job, IN_FLIGHT, None)
    else:
        records.save(store, job, IN_FLIGHT, job.queue, None)


def _reschedule(store, job, retry_at, now_ms: int) -> None:
    if retry_at is None:
        exponent, base_ms, jitter_ms = store.backoff(job)
        retry_at = now_ms + backoff_delay_ms(
            job.attempts, exponent, base_ms, jitter_ms, store.random()
        )
    job.status = SCHEDULED
    job.ready_at = retry_at
    records.save(store, job, IN_FLIGHT, job.queue, None)
    store.add_scheduled(job.id, retry_at)
