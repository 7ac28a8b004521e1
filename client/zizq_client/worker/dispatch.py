"""Running one delivered job: resolve its type, set its context, call it
through the dispatch middleware, and turn the outcome into an ack or a
failure report.

A return is success; any exception is a failure whose report carries the
exception's dotted class path and formatted traceback (the shape
``django.tasks``' ``TaskError`` reads). ``Retry`` reschedules at its time,
``Kill`` (and the job's ``throws``, and a typed payload that does not
match its type) sends the job to ``dead``. Every outcome is logged with
the job's id, type, queue and duration.
"""

import logging
import time
import traceback

from .. import registry
from ..context import JobContext, Kill, Retry, _current
from ..errors import PayloadInvalid
from ..middleware import chain
from ..params import failure_body

log = logging.getLogger("zizq_client.worker")


def dotted_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def failure_for(exc: BaseException, target) -> dict:
    """The failure report for an exception a job raised."""
    message = str(exc) or type(exc).__name__
    backtrace = "".join(traceback.format_exception(exc))
    kill = isinstance(exc, (Kill, PayloadInvalid, *getattr(target, "throws", ())))
    return failure_body(
        message,
        error_type=dotted_name(type(exc)),
        backtrace=backtrace,
        retry_at=exc.retry_at if isinstance(exc, Retry) and not kill else None,
        kill=kill,
    )


class Dispatcher:
    """Runs jobs for one worker; sync jobs in its threads, async on its loop."""

    def __init__(self, middleware=(), worker_id: str = "") -> None:
        self.middleware = list(middleware)
        self.worker_id = worker_id
        self._sync_call = chain(self.middleware, "dispatch", self._invoke)
        self._async_call = chain(self.middleware, "adispatch", self._ainvoke)

    @staticmethod
    def target(job):
        """The registered code for ``job.type`` (``UnknownJobType`` if none)."""
        return registry.resolve(job.type)

    @staticmethod
    def _invoke(job):
        return registry.resolve(job.type).invoke(job.payload)

    @staticmethod
    async def _ainvoke(job):
        return await registry.resolve(job.type).invoke(job.payload)

    def call_sync(self, job):
        """Run a sync job through the middleware, in its context; raises
        what the job raised."""
        token = _current.set(JobContext(job, self.worker_id))
        try:
            return self._sync_call(job)
        finally:
            _current.reset(token)

    async def call_async(self, job):
        token = _current.set(JobContext(job, self.worker_id))
        try:
            return await self._async_call(job)
        finally:
            _current.reset(token)

    def run_sync(self, job, target):
        """Run a sync job here; returns None or a failure report."""
        started = time.perf_counter()
        try:
            self.call_sync(job)
        except Exception as exc:
            return self._failed(job, target, exc, started)
        self._done(job, started)
        return None

    async def run_async(self, job, target):
        """Run an async job on this loop; returns None or a failure report."""
        started = time.perf_counter()
        try:
            await self.call_async(job)
        except Exception as exc:
            return self._failed(job, target, exc, started)
        self._done(job, started)
        return None

    @staticmethod
    def _done(job, started: float) -> None:
        if log.isEnabledFor(logging.INFO):
            log.info(
                "job completed id=%s type=%s queue=%s duration_ms=%.1f",
                job.id,
                job.type,
                job.queue,
                (time.perf_counter() - started) * 1e3,
            )

    @staticmethod
    def _failed(job, target, exc, started: float) -> dict:
        failure = failure_for(exc, target)
        outcome = (
            "killed"
            if failure.get("kill")
            else ("retry requested" if "retry_at" in failure else "failed")
        )
        log.warning(
            "job %s id=%s type=%s queue=%s attempts=%s duration_ms=%.1f error=%s: %s",
            outcome,
            job.id,
            job.type,
            job.queue,
            job.attempts,
            (time.perf_counter() - started) * 1e3,
            failure["error_type"],
            failure["message"],
        )
        return failure
