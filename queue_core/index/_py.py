"""In-memory ready and time indexes (pure-Python reference).

``ReadyIndex`` answers "which ready job goes next" for a taker listening on
a set of queues: the lowest ``(priority, id)`` among those queues, in
O(log n) per claim. Each queue has its own binary heap; a claim looks at the
head of every selected queue and pops the best. Heaps cannot delete from the
middle, so ``remove`` (patch, delete) is lazy: the member table is the truth
and heap entries that disagree with it are skipped when they surface. A heap
whose stale entries outnumber its live ones is rebuilt, which bounds memory.

``TimeIndex`` orders jobs by a timestamp (scheduled jobs by ``ready_at``)
with the same lazy-deletion scheme; the scheduler pops due entries.

The Cython twin in ``_cy.pyx`` must behave exactly like this module.
"""

from heapq import heapify, heappop, heappush

_COMPACT_SLACK = 64


class ReadyIndex:
    """Ready jobs by queue, ordered by (priority, id)."""

    def __init__(self) -> None:
        self._members = {}  # id -> (queue, priority)
        self._heaps = {}  # queue -> heap of (priority, id)
        self._live = {}  # queue -> live member count

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._members

    def get(self, job_id: str):
        """``(queue, priority)`` of a ready job, or None."""
        return self._members.get(job_id)

    def queue_count(self, queue: str) -> int:
        return self._live.get(queue, 0)

    def add(self, job_id: str, queue: str, priority: int) -> None:
        old = self._members.get(job_id)
        if old is not None:
            self._forget(job_id, old[0])
        self._members[job_id] = (queue, priority)
        self._live[queue] = self._live.get(queue, 0) + 1
        heap = self._heaps.get(queue)
        if heap is None:
            self._heaps[queue] = [(priority, job_id)]
        else:
            heappush(heap, (priority, job_id))

    def remove(self, job_id: str) -> bool:
        """Drop a job; True if it was ready."""
        entry = self._members.get(job_id)
        if entry is None:
            return False
        self._forget(job_id, entry[0])
        return True

    def pop_best(self, queues=None):
        """Claim the best job of ``queues`` (None = all): ``(id, queue, priority)``."""
        best = None
        best_queue = None
        names = self._heaps.keys() if queues is None else queues
        for queue in names:
            head = self._head(queue)
            if head is not None and (best is None or head < best):
                best = head
                best_queue = queue
        if best is None:
            return None
        heappop(self._heaps[best_queue])
        self._forget(best[1], best_queue)
        return best[1], best_queue, best[0]

    def _head(self, queue: str):
        """The valid head of a queue's heap, discarding stale entries."""
        heap = self._heaps.get(queue)
        if heap is None:
            return None
        members = self._members
        while heap:
            priority, job_id = head = heap[0]
            if members.get(job_id) == (queue, priority):
                return head
            heappop(heap)
        del self._heaps[queue]
        return None

    def _forget(self, job_id: str, queue: str) -> None:
        del self._members[job_id]
        live = self._live[queue] - 1
        if live:
            self._live[queue] = live
            heap = self._heaps[queue]
            if len(heap) > 2 * live + _COMPACT_SLACK:
                self._rebuild(queue)
        else:
            del self._live[queue]
            self._heaps.pop(queue, None)

    def _rebuild(self, queue: str) -> None:
        members = self._members
        heap = [
            e for e in self._heaps[queue] if members.get(e[1]) == (queue, e[0])
        ]
        heapify(heap)
        self._heaps[queue] = heap

    def ordered(self, queue=None):
        """Every ready ``(priority, id, queue)`` in take order (admin views)."""
        return sorted(
            (p, i, q)
            for i, (q, p) in self._members.items()
            if queue is None or q == queue
        )

    def snapshot(self) -> list:
        """The members now, for ``keys`` (one pass, no sort): the dashboard
        feed files a million of them a slice per loop turn."""
        return list(self._members.items())

    def keys(self, snapshot: list, start: int, stop: int) -> list:
        """``(priority, id, queue)`` of ``snapshot[start:stop]``, unsorted."""
        return [(p, i, q) for i, (q, p) in snapshot[start:stop]]


class TimeIndex:
    """Jobs ordered by (timestamp, id): scheduled jobs by ``ready_at``."""

    def __init__(self) -> None:
        self._members = {}  # id -> timestamp
        self._heap = []  # (timestamp, id)

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._members

    def get(self, job_id: str):
        return self._members.get(job_id)

    def add(self, job_id: str, at_ms: int) -> None:
        self._members[job_id] = at_ms
        heappush(self._heap, (at_ms, job_id))

    def remove(self, job_id: str) -> bool:
        if self._members.pop(job_id, None) is None:
            return False
        if len(self._heap) > 2 * len(self._members) + _COMPACT_SLACK:
            self._heap = [(t, i) for i, t in self._members.items()]
            heapify(self._heap)
        return True

    def peek(self):
        """The earliest ``(timestamp, id)``, or None."""
        heap = self._heap
        members = self._members
        while heap:
            at_ms, job_id = head = heap[0]
            if members.get(job_id) == at_ms:
                return head
            heappop(heap)
        return None

    def pop_due(self, now_ms: int, limit: int) -> list:
        """Remove and return up to ``limit`` ids with timestamp <= now, earliest first."""
        due = []
        while len(due) < limit:
            head = self.peek()
            if head is None or head[0] > now_ms:
                break
            heappop(self._heap)
            del self._members[head[1]]
            due.append(head[1])
        return due

    def ordered(self):
        """Every ``(timestamp, id)`` in order (admin views)."""
        return sorted((t, i) for i, t in self._members.items())

    def snapshot(self) -> list:
        """The members now, for ``keys`` (one pass, no sort)."""
        return list(self._members.items())

    def keys(self, snapshot: list, start: int, stop: int) -> list:
        """``(timestamp, id)`` of ``snapshot[start:stop]``, unsorted."""
        return [(t, i) for i, t in snapshot[start:stop]]
