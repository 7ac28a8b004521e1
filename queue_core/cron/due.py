"""The cron entries' time index: keys by the next occurrence they were
added at.

Unlike the job ``TimeIndex`` (one heap item per job, each removal its
own), entries due at the same time share one bucket, a list of their keys
in the order they came, and a heap holds the bucket times alone. Cron
entries fall due together: 10,000 entries of one expression share every
occurrence, so a pass takes a run of keys off the front of a bucket with
one slice and puts them at the back of the next occurrence's with one
extend, where a heap would pop and push every entry and a map of each
key's time would be written twice a key.

So the index keeps no map of its own: a key is never taken out when its
entry changes or goes, and a bucket may hold keys whose entry has moved
since (or been deleted), even twice over. Whoever pops keys checks each
against its entry (``store.cron_fire``: the entry exists and is due), and
an entry is added again only when its next occurrence changes
(``Crons._index``), so a bucket's stale keys are the changes made since
its time was set, dropped when it comes (or at once when every group goes:
``Crons.delete_all`` starts a new index).
"""

from heapq import heappop, heappush


class DueIndex:
    """Keys (``group NUL entry``) by time, earliest first, then in the
    order they were added."""

    def __init__(self) -> None:
        self._buckets = {}  # time -> [key, ...]
        self._times = []  # heap of the bucket times

    def add(self, key: str, at_ms: int) -> None:
        self.add_many([key], at_ms)

    def add_many(self, keys: list, at_ms: int) -> None:
        if not keys:
            return
        bucket = self._buckets.get(at_ms)
        if bucket is None:
            self._buckets[at_ms] = list(keys)
            heappush(self._times, at_ms)
        else:
            bucket += keys

    def peek(self):
        """The earliest time with keys, or None."""
        return self._times[0] if self._times else None

    def pop_due(self, now_ms: int, limit: int) -> list:
        """Take up to ``limit`` keys added at ``now_ms`` or before, earliest
        first (each to be checked against its entry)."""
        due = []
        times = self._times
        while times and times[0] <= now_ms and len(due) < limit:
            bucket = self._buckets[times[0]]
            room = limit - len(due)
            if len(bucket) <= room:
                due += bucket
                del self._buckets[heappop(times)]
            else:
                due += bucket[:room]
                del bucket[:room]
        return due

    def peek_due(self, now_ms: int, limit: int) -> list:
        """The keys ``pop_due`` would take, left in the index."""
        due = []
        for time in sorted(t for t in self._buckets if t <= now_ms):
            due += self._buckets[time][: limit - len(due)]
            if len(due) == limit:
                break
        return due
