"""The reaper loop: physically deletes terminal jobs past their ``purge_at``.

Runs every ``interval_ms``; deletes in batches of ``REAPER_BATCH_SIZE`` and
loops at once while more remain (API.md 6).
"""

import asyncio
import logging

from ..defaults import REAPER_BATCH_SIZE

logger = logging.getLogger("zizq.reaper")


async def run(store, interval_ms: int, shutdown: asyncio.Event) -> None:
    while not shutdown.is_set():
        try:
            await asyncio.wait_for(shutdown.wait(), interval_ms / 1000)
            return
        except TimeoutError:
            pass
        try:
            while True:
                purged = await store.purge_expired(REAPER_BATCH_SIZE)
                if purged:
                    logger.debug("jobs purged", extra={"fields": {"count": purged}})
                if purged < REAPER_BATCH_SIZE:
                    break
        except Exception:
            logger.exception("reaper pass failed; retrying next interval")
