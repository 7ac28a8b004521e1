"""Throughput over the last hour: jobs enqueued, completed and failed per minute.

A task on the server's loop samples the store's running totals
(``queue_core.store.totals``) every ``SAMPLE_MS``; a minute's count is the
difference between the last samples of it and of the minute before.
Nothing is added to the job paths beyond the totals' additions, and the
history is a bounded deque in memory (one hour; lost on restart).
"""

import asyncio
import collections
import contextlib

from queue_core.clock import now_ms

from ..runtime import runtime

SAMPLE_MS = 5_000
_KINDS = ("enqueued", "completed", "failed")
MINUTES = 60
_samples = collections.deque(maxlen=MINUTES * 60_000 // SAMPLE_MS + 2)


def record(store, at_ms: int) -> None:
    """Keep one sample of ``store``'s totals taken at ``at_ms``."""
    _samples.append((at_ms, *store.totals.sample()))


async def run(store, shutdown: asyncio.Event) -> None:
    """Sample until ``shutdown`` is set (started by ``serve``)."""
    while not shutdown.is_set():
        record(store, now_ms())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(shutdown.wait(), SAMPLE_MS / 1000)


def per_minute(samples, at_ms: int) -> list:
    """``[{"t", "enqueued", "completed", "failed"}]``, oldest minute first.

    The last entry is the current minute so far, so the chart moves within
    the minute. Totals start at zero when the store opens, which is the
    baseline until a sample older than the hour exists.
    """
    now_minute = at_ms // 60_000
    first = now_minute - MINUTES + 1
    baseline = (0, 0, 0)
    end_of = {}  # minute -> totals at its last sample
    for taken_ms, *totals in samples:
        minute = taken_ms // 60_000
        if minute < first:
            baseline = totals
        else:
            end_of[minute] = totals
    rows = []
    previous = baseline
    for minute in range(first, now_minute + 1):
        current = end_of.get(minute, previous)
        counts = [max(0, now - then) for now, then in zip(current, previous)]
        rows.append({"t": minute * 60_000, **dict(zip(_KINDS, counts))})
        previous = current
    return rows


async def minutes() -> list:
    """The last hour per minute, with a fresh sample for the current minute."""
    record(runtime.store, now_ms())
    return per_minute(_samples, now_ms())
