"""The cron scheduler loop: fires cron entries when their time comes.

It sleeps until the earliest ``next_enqueue_at`` of the store's cron time
index, or until a cron change wakes it (``Crons.changed``: a new or
redefined entry may be due sooner), then fires every due entry, in passes
of ``CRON_FIRE_BATCH_SIZE`` that follow each other at once while entries
remain due. Firing is a store operation (store/cron_fire.py); this loop only
times it and writes the log line per enqueued job.

The log lines of a pass are written through ``log_info(logger, message,
many)``, one record per fields dict in ``many``, by default the stdlib's
``logger.info`` for each; the server passes its deferred writer
(zizq_server.logging), since a busy second writes thousands.

Cron scheduling is licensed: ``licensed(FEATURE)`` is asked before every
pass. Without a licence the loop fires nothing and asks again every
second; entries stay due meanwhile, and fire once (no back-fill) on the
first pass after a licence is back.
"""

import asyncio
import logging

from ..cron import FEATURE
from ..defaults import CRON_FIRE_BATCH_SIZE

logger = logging.getLogger("zizq.cron")

_UNLICENSED_RECHECK_S = 1.0
_RETRY_AFTER_ERROR_S = 1.0


def stdlib_info(logger: logging.Logger, message: str, many: list) -> None:
    for fields in many:
        logger.info(message, extra={"fields": fields})


async def run(store, licensed, shutdown: asyncio.Event, log_info=stdlib_info) -> None:
    crons = store.crons
    while not shutdown.is_set():
        crons.changed.clear()
        if not licensed(FEATURE):
            await _wait(crons.changed, _UNLICENSED_RECHECK_S)
            continue
        try:
            fired = await crons.fire_due(CRON_FIRE_BATCH_SIZE)
        except Exception:
            logger.exception("cron pass failed; retrying")
            await asyncio.sleep(_RETRY_AFTER_ERROR_S)
            continue
        if fired and logger.isEnabledFor(logging.INFO):
            log_info(logger, "cron job enqueued", _fields(fired))
        # A full pass may leave more due: the timeout is 0 then.
        await _wait(crons.changed, _until_next(store))


def _until_next(store):
    """Seconds until the earliest occurrence, None when there is none."""
    head = store.crons.due.peek()
    if head is None:
        return None
    return max(0, head - store.clock()) / 1000


async def _wait(event: asyncio.Event, timeout) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pass


def _fields(fired: list) -> list:
    """The log line's fields of each fire: ``fired`` holds the due keys of
    the entries that enqueued, by their next occurrence (store.cron_fire)."""
    many = []
    for next_at, keys in fired:
        shown = "None" if next_at is None else f"Some({next_at})"
        for key in keys:
            group, _, entry = key.partition("\0")  # store.cron.due_key
            many.append({"group": group, "entry": entry, "next_enqueue_at": shown})
    return many
