"""``find``: the dashboard's ``less``-style search over one list.

Directions (ADMIN_AND_CLI.md 6.3): ``forward`` tests the positions after
the anchor (from 0 when the anchor is ``start`` or a job not in the list),
``backward`` those before it (from the last position when the anchor is
``end`` or a job not in the list; nothing before position 0), ``locate``
returns the anchor job's own position and ignores the query. ``start`` +
``backward`` and ``end`` + ``forward`` find nothing. A match is returned
with the L-job window centred on it.

The order comes from the in-memory list, but a job's type is only in its
record, so each candidate is loaded (``load``: in-flight jobs from memory,
the rest by key). The walk yields to the event loop every ``STEP``
candidates, so a search through a million jobs never holds the loop for
long; since the list may change meanwhile, it resumes after the last key
it tested rather than at a position, and the match's position is read when
it is found.
"""

import asyncio
from typing import NamedTuple

from .windows import Window, around

START = "start"
END = "end"
JOB_ID = "job_id"
FORWARD = "forward"
BACKWARD = "backward"
LOCATE = "locate"

STEP = 256


class Query(NamedTuple):
    """A job matches when its queue contains any of ``queues`` (or there are
    none) and its type contains any of ``types`` (or there are none)."""

    queues: tuple = ()
    types: tuple = ()

    def matches(self, job) -> bool:
        queue, type_ = job.queue, job.type
        return (not self.queues or any(q in queue for q in self.queues)) and (
            not self.types or any(t in type_ for t in self.types)
        )


class Found(NamedTuple):
    position: int
    window: Window


async def find(job_list, load, anchor: str, job_id: str, direction: str, query, limit):
    """The first match as ``Found``, or None."""
    if (anchor, direction) in ((START, BACKWARD), (END, FORWARD)):
        return None
    if len(job_list) == 0:
        return None
    position = job_list.position(job_id) if anchor == JOB_ID else None
    if direction == LOCATE:
        return None if position is None else _found(job_list, position, limit)
    if direction == FORWARD:
        start = 0 if position is None else position + 1
    elif position == 0:
        return None
    else:
        start = len(job_list) - 1 if position is None else position - 1
    key = await _first_match(job_list, load, start, direction == FORWARD, query)
    if key is None:
        return None
    return _found(job_list, job_list.ranked.position(key), limit)


def _found(job_list, position: int, limit: int) -> Found:
    return Found(position, around(job_list, position, limit))


async def _first_match(job_list, load, start: int, forward: bool, query):
    """The key of the first matching job from ``start`` on, or None."""
    ranked = job_list.ranked
    while 0 <= start < len(ranked):
        if forward:
            keys = ranked.slice(start, start + STEP)
        else:
            keys = ranked.slice(max(0, start - STEP + 1), start + 1)[::-1]
        for key in keys:
            job = load(key[1])
            if job is not None and query.matches(job):
                return key
        await asyncio.sleep(0)
        last = keys[-1]
        if forward:
            start = ranked.count_upto(last)
        else:
            start = ranked.count_below(last) - 1
    return None
