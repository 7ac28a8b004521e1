"""The scheduler loop: promotes scheduled jobs when their ``ready_at`` comes.

It sleeps until the earliest scheduled time, or until the store signals
that the schedule changed (a new job may be due sooner), then promotes due
jobs in batches, looping at once while a batch comes back full.
"""

import asyncio
import logging

logger = logging.getLogger("zizq.scheduler")

_RETRY_AFTER_ERROR_S = 1.0


async def run(store, batch_size: int, shutdown: asyncio.Event) -> None:
    changed = store.schedule_changed
    while not shutdown.is_set():
        changed.clear()
        try:
            promoted = await store.promote_due(batch_size)
        except Exception:
            logger.exception("scheduler pass failed; retrying")
            await asyncio.sleep(_RETRY_AFTER_ERROR_S)
            continue
        if promoted:
            logger.debug("job promoted", extra={"fields": {"count": promoted}})
        if promoted >= batch_size:
            await asyncio.sleep(0)
            continue
        head = store.scheduled.peek()
        timeout = None
        if head is not None:
            timeout = max(0, head[0] - store.clock()) / 1000
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            pass
