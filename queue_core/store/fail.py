"""Nack: record the failure, then retry later or let the job die.

Order of decisions (API.md 7.3.4): ``kill`` wins, then an explicit
``retry_at`` (which bypasses backoff and the retry limit), then the retry
limit, then the backoff formula. Every failure writes an error record,
kills included. A dead job with zero dead-retention is deleted at once but
the caller still reports it as ``dead``.

Everything that can fail is done before anything changes: the outcome is
computed on a copy of the in-flight job and both records are encoded, and
only then is the job released from its taker and written. A failure half
way would otherwise leave a job that no taker holds and none can take
(released, but still ``in_flight`` in the index), with an error record for
an attempt that never counted.
"""

from .. import codec
from ..defaults import MAX_U64
from ..errors import NotFound
from ..scheduling import backoff_delay_ms, purge_at_ms
from ..types import DEAD, IN_FLIGHT, SCHEDULED, ErrorRecord
from . import events, records
from .complete import NOT_IN_FLIGHT


def fail(store, job_id: str, request, now_ms: int):
    """Apply a failure to an in-flight job; return the job as it now is."""
    held = store.dispatcher.job(job_id)
    if held is None:
        raise NotFound(NOT_IN_FLIGHT)
    job = _failed(store, held, request, now_ms)
    error_key = codec.error_key(job.id, job.attempts)
    error = codec.encode_error(
        ErrorRecord(
            job.attempts,
            request.message,
            request.error_type,
            request.backtrace,
            job.dequeued_at,
            now_ms,
        )
    )
    if job.status == DEAD and job.purge_at is None:
        # The record goes with the job: put first, so the drop deletes it.
        store.ks.put(error_key, error)
        records.drop(store, job, IN_FLIGHT, None)
    else:
        records.save(store, job, IN_FLIGHT, job.queue, None)  # encodes first
        store.ks.put(error_key, error)
    store.dispatcher.release(job_id)
    if job.status == SCHEDULED:
        store.add_scheduled(job.id, job.ready_at)
    if events.enabled():
        events.job_event("job failure recorded", job, attempts=job.attempts)
    return job


def _failed(store, held, request, now_ms: int):
    """A copy of the held job as this failure leaves it; ``held`` is untouched."""
    job = held.copy()
    job.attempts += 1
    job.failed_at = now_ms
    if request.kill or (
        request.retry_at is None and job.attempts > store.retry_limit(job)
    ):
        job.status = DEAD
        job.purge_at = purge_at_ms(now_ms, store.dead_retention_ms(job))
    else:
        job.status = SCHEDULED
        job.ready_at = _retry_at(store, job, request.retry_at, now_ms)
    return job


def _retry_at(store, job, retry_at, now_ms: int) -> int:
    """The explicit retry time, or now plus the backoff, saturated at u64."""
    if retry_at is not None:
        return retry_at
    exponent, base_ms, jitter_ms = store.backoff(job)
    delay = backoff_delay_ms(job.attempts, exponent, base_ms, jitter_ms, store.random())
    return min(now_ms + delay, MAX_U64)
