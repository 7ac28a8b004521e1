"""A handle on one job by id: ``client.job(id)``, its calls without
repeating the id, and ``requeue_copy``, which gives a finished job (dead,
say, after a fix was deployed) a fresh start.

The server never moves a dead job back to the queue, and a patch cannot
touch a finished one (API.md 7.5), so a requeue is two requests: enqueue
a copy of the job (its queue, type, payload and per-job options, with the
overrides given) and delete the original. A job with a unique key is
deleted first, because its copy would otherwise come back as a duplicate
of the original; should the enqueue then fail, the caller holds the old
job's fields in ``RequeueFailed.job`` to retry with.
"""

from .errors import RequeueFailed
from .models import Job
from .params import job_params

_COPIED = (
    "priority", "retry_limit", "backoff", "retention", "unique_key",
    "unique_while", "batch",
)  # fmt: skip


def copy_params(job: Job, overrides: dict) -> dict:
    """Enqueue parameters of a copy of ``job`` (read with its payload)."""
    fields = {"queue": job.queue, "type": job.type, "payload": job.payload}
    fields.update((name, getattr(job, name)) for name in _COPIED)
    fields.update(overrides)
    return job_params(**fields)


class JobHandle:
    """One job of a ``Client``, by id (the calls of ``AsyncJobHandle``,
    which shares them, return awaitables)."""

    def __init__(self, client, job_id: str) -> None:
        self.client = client
        self.id = job_id

    def __repr__(self) -> str:
        return f"<JobHandle {self.id}>"

    def get(self):
        return self.client.get(self.id)

    def errors(self, **options):
        """Every attempt's ``ErrorRecord`` (``order``, ``page_size``)."""
        return self.client.errors(self.id, **options)

    def error(self, attempt: int):
        return self.client.error(self.id, attempt)

    def update(self, **patch):
        return self.client.update(self.id, **patch)

    def delete(self):
        return self.client.delete(self.id)

    def requeue_copy(self, **overrides) -> Job:
        """Enqueue a copy (``queue``, ``priority``, ``payload``, ``delay``
        ... overridden) and delete this job; returns the copy."""
        job = self.get()
        params = copy_params(job, overrides)
        if job.unique_key is None:
            copy = self.client.enqueue_params(params)
            self.delete()
            return copy
        self.delete()
        try:
            return self.client.enqueue_params(params)
        except Exception as exc:
            raise RequeueFailed(job, exc) from exc


class AsyncJobHandle(JobHandle):
    """One job of an ``AsyncClient``; every call is awaited."""

    async def requeue_copy(self, **overrides) -> Job:
        job = await self.get()
        params = copy_params(job, overrides)
        if job.unique_key is None:
            copy = await self.client.enqueue_params(params)
            await self.delete()
            return copy
        await self.delete()
        try:
            return await self.client.enqueue_params(params)
        except Exception as exc:
            raise RequeueFailed(job, exc) from exc
