"""One event loop and one jq pool shared by a test module.

A pool's workers are watched by the loop that spawned them, and spawning
one costs ~0.1 s (a Python process importing libjq), so a module reuses
both: ``jq_run(fn)`` runs ``fn(pool)`` to completion on that loop.
"""

import asyncio

import pytest

from queue_core.sandbox import JqPool


@pytest.fixture(scope="module")
def jq_run():
    loop = asyncio.new_event_loop()
    pool = JqPool()

    def run(fn):
        return loop.run_until_complete(fn(pool))

    yield run
    pool.close()
    loop.close()


def run_with_pool(fn, **limits):
    """Run ``fn(pool)`` on a fresh loop with a pool of its own, then close both."""

    async def body():
        pool = JqPool(**limits)
        try:
            return await fn(pool)
        finally:
            pool.close()

    return asyncio.run(body())
