"""One tab's list as ``zizq top`` holds it: a buffer of rows around the cursor.

A list of a million jobs is never held whole (ADMIN_AND_CLI.md 7.2). A
``JobList`` keeps the window the server last sent (``items`` starting at
absolute position ``first``, of ``total`` jobs), applies the server's
diffs to it in the list's own order, and knows the cursor (an absolute
position) and the first row on screen. ``wanted`` says which anchor to
re-subscribe to when the rows on screen, plus a screen's height either
side, are no longer all in the buffer; the caller sends it (and paces it).

A find match pins the cursor to that job (``pinned``): the subscription
is ``around`` its id and the cursor follows it as the list moves, until
the user moves or unpins. Paused, the buffer is frozen (``frozen``): the
rows shown stop changing while diffs keep arriving underneath, and the
cursor stays inside the frozen rows. On the free tier (``capped``) the
server never sends more than its first window, and the cursor stays in it.
"""

from bisect import bisect_left

HEAD = {"kind": "head"}
TAIL = {"kind": "tail"}


def _ready_key(job: dict):
    return (job["priority"], job["id"])


def _in_flight_key(job: dict):
    return (job.get("dequeued_at") or 0, job["id"])


def _scheduled_key(job: dict):
    return (job["ready_at"], job["id"])


SORT_KEYS = {
    "ready": _ready_key,
    "in_flight": _in_flight_key,
    "scheduled": _scheduled_key,
}


class Rows:
    """Consecutive jobs of a list from absolute position ``first``."""

    __slots__ = ("first", "items", "total")

    def __init__(self, items=(), first: int = 0, total: int = 0) -> None:
        self.items = list(items)
        self.first = first
        self.total = total

    def at(self, position: int):
        index = position - self.first
        if 0 <= index < len(self.items):
            return self.items[index]
        return None

    def index_of(self, job_id: str):
        for index, job in enumerate(self.items):
            if job["id"] == job_id:
                return index
        return None

    @property
    def end(self) -> int:
        return self.first + len(self.items)


class JobList:
    """A tab: the server's window of one list, the cursor, the scroll."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = SORT_KEYS[name]
        self.live = Rows()
        self.frozen = None  # Rows while paused
        self.anchor = HEAD
        self.pinned = None  # job id the cursor follows after a find
        self.capped = False
        self.cursor = 0
        self.top = 0  # first row on screen
        # An ``around`` window's start moves with its job in ways the diffs
        # do not tell: after a diff it is asked for again (paced).
        self.stale = False

    @property
    def rows(self) -> Rows:
        return self.frozen if self.frozen is not None else self.live

    # -- what the server sent ----------------------------------------------

    def load(self, window: dict) -> None:
        """A fresh window (snapshot): the buffer is replaced."""
        self.live = Rows(window["items"], window["first_position"], window["total"])
        self.stale = False
        self._follow_pin()
        self._clamp()

    def remove(self, job_id: str) -> None:
        index = self.live.index_of(job_id)
        if index is not None:
            del self.live.items[index]
            self.stale = self.anchor["kind"] == "around"

    def add(self, job: dict) -> None:
        items = self.live.items
        self.remove(job["id"])
        keys = [self.key(item) for item in items]
        items.insert(bisect_left(keys, self.key(job)), job)
        self.stale = self.anchor["kind"] == "around"

    def set_total(self, total: int, limit: int) -> None:
        """The list's length from the server's totals; after diffs, the
        window's start follows its anchor as the server resolves it."""
        live = self.live
        live.total = total
        last_start = max(0, total - limit)
        kind = self.anchor["kind"]
        if kind == "head":
            live.first = 0
        elif kind == "tail":
            live.first = last_start
        elif kind == "offset":
            live.first = min(self.anchor["offset"], last_start)
        self._follow_pin()
        self._clamp()

    def _follow_pin(self) -> None:
        if self.pinned is not None and self.frozen is None:
            index = self.live.index_of(self.pinned)
            if index is not None:
                self.cursor = self.live.first + index

    def freeze(self) -> None:
        """Pause: the rows shown stop changing; the cursor stays in them."""
        live = self.live
        self.frozen = Rows(list(live.items), live.first, live.total)
        self._clamp()

    def thaw(self) -> None:
        self.frozen = None
        self._follow_pin()
        self._clamp()

    # -- navigation ---------------------------------------------------------

    def bounds(self) -> tuple:
        """The positions the cursor may take: ``(lowest, highest)``."""
        rows = self.rows
        if self.frozen is not None or self.capped:
            return rows.first, max(rows.first, rows.end - 1)
        return 0, max(0, rows.total - 1)

    def at_frozen_edge(self) -> bool:
        """Paused with the cursor on the last frozen row of a longer list."""
        rows = self.frozen
        return (
            rows is not None and self.cursor >= rows.end - 1 and rows.end < rows.total
        )

    def move_to(self, position: int) -> None:
        self.pinned = None
        self.cursor = position
        self._clamp()

    def move_by(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def _clamp(self) -> None:
        low, high = self.bounds()
        self.cursor = min(max(self.cursor, low), high)

    def scroll(self, height: int) -> None:
        """Keep the cursor on screen, moving the top row as little as may be."""
        height = max(1, height)
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + height:
            self.top = self.cursor - height + 1
        low, high = self.bounds()
        self.top = max(low, min(self.top, max(low, high - height + 1)))

    def current(self):
        return self.rows.at(self.cursor)

    def wanted(self, height: int, limit: int):
        """The anchor to subscribe to so that the rows on screen and a screen
        either side are buffered, or None when they already are."""
        if self.capped or self.frozen is not None:
            return None
        live = self.live
        if self.pinned is not None:
            anchor = {"kind": "around", "id": self.pinned, "fallback": "nowhere"}
            return None if anchor == self.anchor and not self.stale else anchor
        need_low = max(0, self.top - height)
        need_high = min(live.total, self.top + 2 * height)
        if live.first <= need_low and need_high <= live.end:
            return None
        if self.cursor + height >= live.total:
            anchor = TAIL
        elif self.cursor < limit // 2:
            anchor = HEAD
        else:
            anchor = {"kind": "offset", "offset": max(0, self.cursor - limit // 2)}
        return None if anchor == self.anchor else anchor
