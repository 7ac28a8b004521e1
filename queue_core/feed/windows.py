"""Window arithmetic: which run of a list a subscription shows.

A subscription names an anchor and a limit L (ADMIN_AND_CLI.md 6.3); with
``total`` the list's length the window starts at

- ``head``: 0;  ``tail``: ``max(0, total - L)``;
- ``offset`` n: ``min(n, max(0, total - L))``, so an offset past the end
  shows the last L jobs rather than nothing;
- ``around`` a job at position p: ``min(max(0, p - L // 2), max(0, total -
  L))``, with the id as ``resolved_anchor``; a job not in the list falls
  back to the head, the tail, or (``nowhere``, the default) no items at all
  with the real ``total``.

An empty list is ``items: []``, ``first_position: 0``, ``total: 0`` whatever
the anchor. Positions come from the list's ranks (``JobList.position``), so
a window over a million jobs costs what a window over ten does.
"""

from typing import NamedTuple

HEAD = "head"
TAIL = "tail"
OFFSET = "offset"
AROUND = "around"
NOWHERE = "nowhere"
ANCHOR_KINDS = (HEAD, TAIL, OFFSET, AROUND)
FALLBACKS = (HEAD, TAIL, NOWHERE)


class Anchor(NamedTuple):
    """Where a subscription's window is pinned."""

    kind: str = HEAD
    offset: int = 0  # for OFFSET
    job_id: str = ""  # for AROUND
    fallback: str = NOWHERE  # for AROUND, when the job is not in the list


class Window(NamedTuple):
    """Consecutive keys of a list, from ``first_position``."""

    keys: list
    first_position: int
    total: int
    resolved_anchor: str | None = None

    @property
    def ids(self) -> list:
        return [key[1] for key in self.keys]


EMPTY = Window([], 0, 0)


def centred_start(position: int, limit: int, total: int) -> int:
    """The start of an L-job window centred on ``position``, kept in range."""
    return min(max(0, position - limit // 2), max(0, total - limit))


def start_of(anchor: Anchor, limit: int, total: int, position=None):
    """The window's first position, or None for an empty ``nowhere`` window.

    ``position`` is the ``around`` job's position (None: not in the list).
    """
    last_start = max(0, total - limit)
    kind = anchor.kind
    if kind == HEAD:
        return 0
    if kind == TAIL:
        return last_start
    if kind == OFFSET:
        return min(anchor.offset, last_start)
    if position is not None:
        return centred_start(position, limit, total)
    if anchor.fallback == HEAD:
        return 0
    if anchor.fallback == TAIL:
        return last_start
    return None


def resolve(job_list, anchor: Anchor, limit: int) -> Window:
    """The window ``anchor`` and ``limit`` select in ``job_list`` now."""
    total = len(job_list)
    if total == 0:
        return EMPTY
    position = job_list.position(anchor.job_id) if anchor.kind == AROUND else None
    start = start_of(anchor, limit, total, position)
    if start is None:
        return Window([], 0, total)
    resolved = anchor.job_id if position is not None else None
    return Window(job_list.keys_between(start, start + limit), start, total, resolved)


def around(job_list, position: int, limit: int) -> Window:
    """An L-job window centred on ``position``, its job as resolved anchor
    (none when L is 0 and the window holds nothing)."""
    total = len(job_list)
    start = centred_start(position, limit, total)
    keys = job_list.keys_between(start, start + limit)
    at = position - start
    return Window(keys, start, total, keys[at][1] if at < len(keys) else None)
