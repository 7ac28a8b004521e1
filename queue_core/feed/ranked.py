"""A sorted list of keys that answers positions: one dashboard list's order.

The dashboard (ADMIN_AND_CLI.md 6.3) asks for windows by position ("200
jobs from position 5,000", "the window around this job") over lists of any
length, so the order must support rank queries in O(log n), which the
engine's heaps (queue_core/index/) cannot. The keys live in sorted chunks
of about ``LOAD`` keys, with each chunk's largest key beside it (found by
bisection) and the chunks' start positions, rebuilt from the chunk lengths
(one C-level ``accumulate``) only when a rank is asked for after a change.

It is shaped like ``sortedcontainers.SortedList`` but built for the feed's
one hot case: a bulk enqueue's jobs arrive as one sorted run that usually
sorts after everything already there (new ids are time ordered), and
``insert_sorted`` places a run with one ``extend`` per chunk it lands in.
``SortedList.add`` costs ~3 us a key in pure Python, a third of a bulk
enqueue's whole cost per job; this is ~0.1 us a key for that case.

Chunks hold between ``LOAD // 4`` and ``2 * LOAD`` keys (a removal that
leaves fewer merges the chunk into a neighbour; a chunk grown past the
maximum is cut into ``LOAD``-key pieces), so a list of n keys has
O(n / LOAD) chunks and a removal moves at most ``2 * LOAD`` pointers.
"""

from bisect import bisect_left, bisect_right
from itertools import accumulate

LOAD = 1000


class RankedList:
    """Distinct, mutually comparable keys in ascending order."""

    __slots__ = ("_chunks", "_len", "_maxes", "_starts")

    def __init__(self, keys=(), ordered: bool = False) -> None:
        """``keys`` in any order, or ascending already if ``ordered``."""
        self._chunks = []
        self._maxes = []
        self._starts = None  # chunk start positions; None after a change
        self._len = 0
        self.insert_sorted(keys if ordered else sorted(keys))

    def __len__(self) -> int:
        return self._len

    def __iter__(self):
        for chunk in self._chunks:
            yield from chunk

    def insert_sorted(self, keys: list) -> None:
        """Insert ``keys``, ascending and none of them present yet."""
        if not keys:
            return
        chunks, maxes = self._chunks, self._maxes
        self._starts = None
        self._len += len(keys)
        if not chunks:
            chunks.append(list(keys))
            maxes.append(keys[-1])
            self._split(0)
            return
        i, n = 0, len(keys)
        while i < n:
            c = bisect_left(maxes, keys[i])
            if c == len(maxes):  # past the last key: all the rest go last
                c -= 1
                j = n
            else:
                j = bisect_right(keys, maxes[c], i)
            chunk = chunks[c]
            appended = chunk[-1] < keys[i]
            chunk.extend(keys[i:j])
            if not appended:
                chunk.sort()  # two sorted runs: a linear merge
            maxes[c] = chunk[-1]
            if len(chunk) > 2 * LOAD:
                self._split(c)
            i = j

    def add(self, key) -> None:
        self.insert_sorted([key])

    def remove(self, key) -> None:
        """Remove ``key``, which must be present (ValueError otherwise)."""
        chunks, maxes = self._chunks, self._maxes
        c = bisect_left(maxes, key)
        if c == len(maxes):
            raise ValueError(f"{key!r} not in list")
        chunk = chunks[c]
        i = bisect_left(chunk, key)
        if chunk[i] != key:
            raise ValueError(f"{key!r} not in list")
        del chunk[i]
        self._len -= 1
        self._starts = None
        if not chunk:
            del chunks[c]
            del maxes[c]
        else:
            maxes[c] = chunk[-1]
            if len(chunk) < LOAD // 4 and len(chunks) > 1:
                self._merge(c if c + 1 < len(chunks) else c - 1)

    def position(self, key):
        """The 0-based position of ``key``, or None if it is not present."""
        c = bisect_left(self._maxes, key)
        if c == len(self._maxes):
            return None
        chunk = self._chunks[c]
        i = bisect_left(chunk, key)
        if chunk[i] != key:
            return None
        return self._chunk_start(c) + i

    def count_below(self, key) -> int:
        """How many keys are smaller than ``key``."""
        c = bisect_left(self._maxes, key)
        if c == len(self._maxes):
            return self._len
        return self._chunk_start(c) + bisect_left(self._chunks[c], key)

    def count_upto(self, key) -> int:
        """How many keys are smaller than or equal to ``key``."""
        c = bisect_left(self._maxes, key)
        if c == len(self._maxes):
            return self._len
        return self._chunk_start(c) + bisect_right(self._chunks[c], key)

    def slice(self, start: int, stop: int) -> list:
        """The keys at positions ``start`` (inclusive) to ``stop`` (exclusive)."""
        start = max(0, start)
        stop = min(stop, self._len)
        if start >= stop:
            return []
        chunks = self._chunks
        if start == 0:
            c, i = 0, 0  # the head needs no positions (the common window)
        else:
            starts = self._chunk_starts()
            c = bisect_right(starts, start) - 1
            i = start - starts[c]
        wanted = stop - start
        out = chunks[c][i : i + wanted]
        while len(out) < wanted:
            c += 1
            out.extend(chunks[c][: wanted - len(out)])
        return out

    def _chunk_start(self, c: int) -> int:
        return 0 if c == 0 else self._chunk_starts()[c]

    def _chunk_starts(self) -> list:
        if self._starts is None:
            self._starts = list(accumulate(map(len, self._chunks), initial=0))
        return self._starts

    def _split(self, c: int) -> None:
        chunk = self._chunks[c]
        if len(chunk) <= 2 * LOAD:
            return
        pieces = [chunk[k : k + LOAD] for k in range(0, len(chunk), LOAD)]
        self._chunks[c : c + 1] = pieces
        self._maxes[c : c + 1] = [piece[-1] for piece in pieces]

    def _merge(self, c: int) -> None:
        """Join chunk ``c`` and the next one (cut again if too long)."""
        chunks, maxes = self._chunks, self._maxes
        chunks[c] = chunks[c] + chunks[c + 1]
        maxes[c] = maxes[c + 1]
        del chunks[c + 1]
        del maxes[c + 1]
        self._split(c)
