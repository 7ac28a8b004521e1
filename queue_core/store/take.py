"""Take: hands ready jobs to open take streams ("takers").

A taker listens on a set of queues (or all) with a prefetch credit. Whenever
something may have changed (a job became ready, a credit was freed, a taker
arrived) a dispatch pass is scheduled for the end of the loop turn, so a
burst of events costs one pass; an enqueue runs its pass at once, which
gets its jobs to waiting streams a turn sooner (``Dispatcher.run_now``).
A pass goes round the takers with credit, one job each per round, so a
burst is spread evenly instead of filling the first stream's prefetch; each
claim takes the best ``(priority, id)`` among the taker's queues and stops
when the global in-flight limit is reached.

Claimed jobs are re-filed as ``in_flight`` in the index in the turn's batch
(the record itself is not rewritten: ``records.refile``) and put in the
taker's outbox; the stream's pump renders and sends them. The write is
not awaited, but it comes first: the frames leave at the end of the turn
that writes the batch. So a job a worker holds is ``in_flight`` on disk,
and a server killed then recovers it as an orphan (PERSIST-02's log
line); sending ahead of the write saves ~0.06 ms of latency but loses
that (tried in round 6, caught by test_durability).

While a job is in flight its ``Job`` object stays in its taker's table and
is the authoritative copy (``records.load`` returns it), so an ack or nack
never reads the record back. The global in-flight limit bounds that memory.
"""

from ..types import IN_FLIGHT, READY
from . import events, records
from .turns import at_turn_end


class Taker:
    """One open take stream as the engine sees it."""

    __slots__ = ("queues", "prefetch", "in_flight", "outbox", "notify")

    def __init__(self, queues, prefetch: int, notify) -> None:
        self.queues = queues  # frozenset of names, or None for every queue
        self.prefetch = prefetch  # 0 = unlimited
        self.in_flight = {}  # job id -> Job
        self.outbox = []
        self.notify = notify

    def has_credit(self) -> bool:
        return self.prefetch == 0 or len(self.in_flight) < self.prefetch


class Dispatcher:
    """Matches ready jobs to takers; owns the global in-flight table."""

    def __init__(self, store) -> None:
        self.store = store
        self.takers = []
        self.in_flight = {}  # job id -> Taker
        self._pending = False

    def add(self, taker: Taker) -> None:
        self.takers.append(taker)
        self.schedule()

    def remove(self, taker: Taker) -> None:
        self.takers.remove(taker)

    def job(self, job_id: str):
        """The in-memory copy of an in-flight job, or None."""
        taker = self.in_flight.get(job_id)
        return None if taker is None else taker.in_flight[job_id]

    def release(self, job_id: str):
        """Forget an in-flight job (acked, failed, deleted); the Job or None."""
        taker = self.in_flight.pop(job_id, None)
        if taker is None:
            return None
        self.schedule()
        return taker.in_flight.pop(job_id)

    def schedule(self) -> None:
        """Run a dispatch pass at the end of this loop turn."""
        if not self._pending and self.takers:
            self._pending = at_turn_end(self.run)

    def run(self) -> None:
        """The scheduled pass."""
        self._pending = False
        self.run_now()

    def run_now(self) -> None:
        """A dispatch pass now, outside the end-of-turn schedule.

        Enqueue uses it: a waiting stream renders its new job in the next
        loop turn, the one that writes the batch, and its frame leaves at
        the end of that turn, a turn sooner than after a scheduled pass and
        ahead of the enqueue's own answer.
        """
        if not self.takers:
            return
        limit = self.store.config.global_in_flight_limit
        active = [t for t in self.takers if t.has_credit()]
        if not active:
            return
        # Rotate so that no stream is always first in line.
        self.takers.append(self.takers.pop(0))
        served = set()
        now_ms = self.store.clock()
        log = events.enabled()
        while active:
            still = []
            for taker in active:
                if limit and len(self.in_flight) >= limit:
                    still = []
                    break
                claimed = self.store.ready.pop_best(taker.queues)
                if claimed is None:
                    continue
                job = self._claim(taker, claimed[0], now_ms)
                if log:
                    events.job_event("job dispatched", job)
                served.add(taker)
                if taker.has_credit():
                    still.append(taker)
            active = still
        if served:
            # Woken first, the pumps render in the next turn before the
            # batch is written there; their frames leave at that turn's end.
            for taker in served:
                taker.notify()
            self.store.ks.request_flush()

    def _claim(self, taker: Taker, job_id: str, now_ms: int):
        job = records.load(self.store, job_id)
        job.status = IN_FLIGHT
        job.dequeued_at = now_ms
        records.refile(self.store, job, READY)
        self.in_flight[job_id] = taker
        taker.in_flight[job_id] = job
        taker.outbox.append(job)
        return job
