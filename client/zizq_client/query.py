"""A lazy, immutable query over ``GET /jobs``, with count, bulk update and
bulk delete over the same filters.

Every builder method returns a new query, so a base query can be shared and
narrowed safely. Iterating follows the server's cursor (``from`` = the last
id of a page), fetching one page at a time, so a listing of any size holds
one page in memory; ``limit`` caps the total. Bulk update and delete send
the filters to the server in one atomic request each.
"""

import json
from dataclasses import dataclass, field, replace

from . import calls
from .params import patch_body


def call_filter(args: tuple, kwargs: dict) -> str:
    """A jq payload filter matching jobs enqueued with these arguments
    (the ``{"args": [...], "kwargs": {...}}`` shape), extra ones allowed."""
    tests = [f".args[{i}] == {json.dumps(v)}" for i, v in enumerate(args)]
    tests += [f".kwargs[{json.dumps(k)}] == {json.dumps(v)}" for k, v in kwargs.items()]
    return " and ".join(tests) or "true"


@dataclass(frozen=True)
class _Query:
    client: object
    filters: dict = field(default_factory=dict)
    direction: str = "asc"
    max_jobs: int | None = None
    page_length: int = 200

    def filter(self, **filters) -> "_Query":
        """Narrow by id, queue, type, status (lists), priority, ready_at,
        attempts (ranges) or ``payload`` (a jq expression)."""
        calls.filter_params(filters)
        return replace(self, filters={**self.filters, **filters})

    def for_call(self, job, *args, **kwargs) -> "_Query":
        """Jobs of ``job`` (a declared job or a type name) enqueued with
        these arguments."""
        type_name = getattr(job, "type_name", job)
        return self.filter(type=type_name, payload=call_filter(args, kwargs))

    def order(self, direction: str) -> "_Query":
        if direction not in ("asc", "desc"):
            raise ValueError("order is 'asc' or 'desc'")
        return replace(self, direction=direction)

    def limit(self, count: int) -> "_Query":
        return replace(self, max_jobs=count)

    def page_size(self, count: int) -> "_Query":
        if not 1 <= count <= 2000:
            raise ValueError("page_size must be between 1 and 2000")
        return replace(self, page_length=count)

    def _params(self) -> dict:
        return calls.filter_params(self.filters)

    def _page_call(self, cursor, taken: int) -> calls.Call:
        size = self.page_length
        if self.max_jobs is not None:
            size = min(size, self.max_jobs - taken)
        params = {**self._params(), "order": self.direction, "limit": str(size)}
        if cursor is not None:
            params["from"] = cursor
        return calls.list_jobs(params)

    def _bulk_params(self) -> dict:
        if self.max_jobs is not None:
            raise ValueError("update and delete act on every match: drop limit()")
        return self._params()

    def _update_call(self, patch: dict) -> calls.Call:
        return calls.update_all(self._bulk_params(), patch_body(**patch))

    def _delete_call(self) -> calls.Call:
        return calls.delete_all(self._bulk_params())

    def _done(self, page: list, following, taken: int) -> bool:
        limited = self.max_jobs is not None and taken >= self.max_jobs
        return following is None or not page or limited


class Query(_Query):
    """Jobs from a ``Client``: iterate, or ``count()``/``update()``/``delete()``."""

    def pages(self):
        cursor, taken = None, 0
        if self.max_jobs == 0:
            return
        while True:
            page, following = self.client._send(self._page_call(cursor, taken))
            taken += len(page)
            if page:
                yield page
            if self._done(page, following, taken):
                return
            cursor = page[-1].id

    def __iter__(self):
        for page in self.pages():
            yield from page

    def first(self):
        return next(iter(self.limit(1)), None)

    def count(self) -> int:
        return self.client._send(calls.count(self._params()))

    def update(self, **patch) -> int:
        """Patch every matching non-terminal job; returns how many."""
        return self.client._send(self._update_call(patch))

    def delete(self) -> int:
        """Delete every matching job; returns how many."""
        return self.client._send(self._delete_call())


class AsyncQuery(_Query):
    """Jobs from an ``AsyncClient``: ``async for``, or await the bulk calls."""

    async def pages(self):
        cursor, taken = None, 0
        if self.max_jobs == 0:
            return
        while True:
            page, following = await self.client._send(self._page_call(cursor, taken))
            taken += len(page)
            if page:
                yield page
            if self._done(page, following, taken):
                return
            cursor = page[-1].id

    async def __aiter__(self):
        async for page in self.pages():
            for job in page:
                yield job

    async def first(self):
        async for job in self.limit(1):
            return job
        return None

    async def count(self) -> int:
        return await self.client._send(calls.count(self._params()))

    async def update(self, **patch) -> int:
        return await self.client._send(self._update_call(patch))

    async def delete(self) -> int:
        return await self.client._send(self._delete_call())
