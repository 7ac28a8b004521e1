"""Middleware: one class wraps both the enqueue side and the dispatch side.

Each hook receives the value and ``call_next`` and returns what
``call_next`` returned (or raises), so timing, logging, tracing and
argument rewriting are all plain code around one call. Enqueue hooks see
the list of job-parameter dicts about to be sent (one for a single
enqueue) and return the server's jobs; dispatch hooks see the delivered
``Job`` and return the job function's result. Sync jobs and sync clients
use ``enqueue``/``dispatch``; asyncio ones ``aenqueue``/``adispatch``.
The first middleware in a list is the outermost.
"""

from functools import partial


class Middleware:
    """Pass-through base: override only the hooks you need."""

    def enqueue(self, jobs: list, call_next):
        return call_next(jobs)

    async def aenqueue(self, jobs: list, call_next):
        return await call_next(jobs)

    def dispatch(self, job, call_next):
        return call_next(job)

    async def adispatch(self, job, call_next):
        return await call_next(job)


def chain(middleware, hook: str, final):
    """``final`` wrapped in every middleware's ``hook``, the first outermost."""
    call = final
    for item in reversed(middleware):
        call = partial(getattr(item, hook), call_next=call)
    return call
