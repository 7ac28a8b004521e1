"""The cron entries' time index: each entry by its next occurrence.

Unlike the job ``TimeIndex`` (one heap item per job), entries due at the
same time share one bucket, an insertion-ordered dict of their keys, and a
heap holds the bucket times alone. Cron entries fall due together: 10,000
entries of one expression share every occurrence, so a pass takes a whole
bucket in one step and moves its entries to the next occurrence's bucket
in another (``add_many``), where a heap would pop and push every entry.
Entries of one time come out in the order they went in.
"""

from heapq import heapify, heappop, heappush
from itertools import islice, repeat

_STALE_SLACK = 64  # heap times whose bucket went, kept before a rebuild


class DueIndex:
    """Keys (``group NUL entry``) by next occurrence, earliest first."""

    def __init__(self) -> None:
        self._at = {}  # key -> time
        self._buckets = {}  # time -> {key: None}, in insertion order
        self._times = []  # heap of the bucket times

    def __len__(self) -> int:
        return len(self._at)

    def get(self, key: str):
        return self._at.get(key)

    def add(self, key: str, at_ms: int) -> None:
        self.remove(key)
        self._bucket(at_ms)[key] = None
        self._at[key] = at_ms

    def add_many(self, keys: list, at_ms: int) -> None:
        """Add keys that are not in the index (a pass's, just popped)."""
        self._bucket(at_ms).update(zip(keys, repeat(None)))
        self._at.update(zip(keys, repeat(at_ms)))

    def remove(self, key: str) -> None:
        at_ms = self._at.pop(key, None)
        if at_ms is not None:
            bucket = self._buckets[at_ms]
            del bucket[key]
            if not bucket:  # its time stays in the heap until it comes up
                del self._buckets[at_ms]
                if len(self._times) > 2 * len(self._buckets) + _STALE_SLACK:
                    self._times = list(self._buckets)
                    heapify(self._times)

    def peek(self):
        """The earliest ``(time, key)``, or None."""
        time = self._head()
        if time is None:
            return None
        return time, next(iter(self._buckets[time]))

    def pop_due(self, now_ms: int, limit: int) -> list:
        """Remove and return up to ``limit`` keys due by ``now_ms``,
        earliest first."""
        due = []
        while len(due) < limit:
            time = self._head()
            if time is None or time > now_ms:
                break
            bucket = self._buckets[time]
            if len(bucket) <= limit - len(due):
                taken = list(bucket)
                del self._buckets[time]
                heappop(self._times)
            else:
                taken = list(islice(bucket, limit - len(due)))
                for key in taken:
                    del bucket[key]
            for key in taken:
                del self._at[key]
            due += taken
        return due

    def peek_due(self, now_ms: int, limit: int) -> list:
        """The keys ``pop_due`` would return, left in the index."""
        due = []
        for time in sorted(t for t in self._buckets if t <= now_ms):
            due += islice(self._buckets[time], limit - len(due))
            if len(due) == limit:
                break
        return due

    def _head(self):
        """The earliest time that has a bucket (dropping emptied ones)."""
        times = self._times
        while times and times[0] not in self._buckets:
            heappop(times)
        return times[0] if times else None

    def _bucket(self, at_ms: int) -> dict:
        bucket = self._buckets.get(at_ms)
        if bucket is None:
            bucket = self._buckets[at_ms] = {}
            heappush(self._times, at_ms)
        return bucket
