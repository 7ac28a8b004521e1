"""What a running job can see and raise: ``current_job()``, and ``Retry``
and ``Kill`` to steer the server's retry logic from inside a job.

The context lives in a ``contextvars.ContextVar``, which follows both a
worker thread (set around the call) and an asyncio task (each job runs in
its own task, so concurrent async jobs never see each other's context).
"""

from contextvars import ContextVar

from .models import Job, now_ms, to_ms, to_timestamp_ms

_current: ContextVar["JobContext"] = ContextVar("zizq_current_job")


class JobContext:
    """The delivered job and the worker running it (a slotted class: one
    is made for every job run)."""

    __slots__ = ("job", "worker_id")

    def __init__(self, job: Job, worker_id: str) -> None:
        self.job = job
        self.worker_id = worker_id

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def attempts(self) -> int:
        """Failures recorded before this run (0 on the first run)."""
        return self.job.attempts

    @property
    def queue(self) -> str:
        return self.job.queue

    @property
    def priority(self) -> int:
        return self.job.priority

    @property
    def dequeued_at(self) -> int:
        return self.job.dequeued_at


def current_job() -> JobContext:
    """The running job's context; ``LookupError`` outside a job."""
    return _current.get()


class Retry(Exception):
    """Raise inside a job to fail this run and retry at a chosen time
    (``delay`` from now, or ``at``), bypassing backoff and the retry limit."""

    def __init__(self, message: str = "retry requested", *, delay=None, at=None):
        super().__init__(message)
        if at is not None:
            self.retry_at = to_timestamp_ms(at)
        else:
            self.retry_at = now_ms() + to_ms(delay or 0)


class Kill(Exception):
    """Raise inside a job to fail it for good: it goes to ``dead`` now."""
