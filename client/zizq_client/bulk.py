"""Atomic bulk enqueue: collect jobs in a ``with`` block, send them as ONE
``POST /jobs/bulk`` when it ends (nothing is sent if the block raises).

The server applies a bulk request all or nothing, so a block either
enqueues every job or none; ``jobs`` holds the server's answers, in the
order the jobs were added.
"""

from .jobs import default_async_client, default_client
from .params import job_params


class Bulk:
    """The jobs of one bulk request; use ``bulk()`` or ``abulk()``."""

    def __init__(self, client=None) -> None:
        self.client = client
        self.params: list = []
        self.jobs: list = []

    def add(self, job, *args, **kwargs) -> None:
        """Add a call of a declared job (``job.using(...)`` for overrides)."""
        self.params.append(job.params(*args, **kwargs))

    def add_raw(self, *, queue: str, type: str, payload, **options) -> None:
        """Add a job by its wire fields (a type any language may run)."""
        self.params.append(
            job_params(queue=queue, type=type, payload=payload, **options)
        )

    def __enter__(self) -> "Bulk":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self.params:
            self.jobs = (self.client or default_client()).enqueue_bulk(self.params)

    async def __aenter__(self) -> "Bulk":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self.params:
            client = self.client or default_async_client()
            self.jobs = await client.enqueue_bulk(self.params)


def bulk(client=None) -> Bulk:
    """``with bulk() as b: b.add(job, ...)`` or ``async with bulk() as b``."""
    return Bulk(client)
