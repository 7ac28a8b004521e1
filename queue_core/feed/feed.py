"""The store's change feed for dashboards: the lists, kept up per loop turn.

A ``Feed`` exists only while someone watches (``attach`` when the first
``/events`` client connects, ``detach`` when the last leaves): without it
the store's hooks cost one attribute test each, so a server nobody watches
pays nothing measurable. Attached, it is told of every status change from
the one place they all pass, ``store/records.py`` (``save_new``, ``save``,
``refile``, ``drop``; take's claim is a ``refile``), and of patches.

Ordering a million ready jobs takes about a second of CPU, so ``attach``
builds the lists a few milliseconds at a time (``lists.Builder``) from a
snapshot of the indexes taken when the feed is made; the hooks record from
that same moment, and what they recorded is filed once the lists exist
(also in slices), so nothing that happens during the build is lost and the
job traffic is served meanwhile. Only then is the feed ``live``.

The hooks only note what happened: the jobs to re-file, the ids dropped,
which lists to diff in which order, and the ack/nack markers. At the end of
the loop turn ``flush`` files them all at once (a bulk enqueue's jobs as
one sorted run per list) and hands subscribers one ``Turn``, so a burst of
10,000 changes costs each dashboard one pass, not 10,000. Re-filing reads
each job's state at flush time; a job's later hook always carries its later
state (every change to a job is followed by its hook in the same step), so
filing in hook order ends with each job where it is now.

What a turn emits follows the spec's table (ADMIN_AND_CLI.md 6.3): a job
that became ready diffs all three lists, a take diffs in_flight then ready,
an ack or nack first marks the job ``completed`` / ``dead`` (a retried job
too: the real server's quirk) then diffs in_flight (a retry then shows in
scheduled), a job scheduled diffs scheduled, a delete diffs all three, a
patch asks for a full snapshot. A turn's ``steps`` are those lists in the
order they first came up; ``low`` holds, per list, the smallest key added
or removed, which lets a dashboard whose window ends before it skip the
list (``view``).
"""

import asyncio
import logging
import time

from ..store.turns import running_loop
from ..types import COMPLETED, IN_FLIGHT, READY, SCHEDULED, TERMINAL
from . import lists
from .lists import IN_FLIGHT_LIST, READY_LIST, SCHEDULED_LIST, key_of

logger = logging.getLogger("zizq.feed")

MARKERS = "markers"  # a turn step: the ack/nack markers
SLICE_S = 0.002  # how long a build runs before letting the loop run
CATCH_UP = 5_000  # changes filed per step while catching up after a build

_ALL = (READY_LIST, IN_FLIGHT_LIST, SCHEDULED_LIST)
_TAKEN = (IN_FLIGHT_LIST, READY_LIST)
_FINISHED = (MARKERS, IN_FLIGHT_LIST)
_RETRIED = (MARKERS, IN_FLIGHT_LIST, SCHEDULED_LIST)
_SCHEDULED = (SCHEDULED_LIST,)
_LISTED = frozenset((READY, IN_FLIGHT, SCHEDULED))


class Turn:
    """What one loop turn changed, as subscribers see it."""

    __slots__ = ("_marker_events", "low", "markers", "patched", "steps")

    def __init__(self) -> None:
        self.steps = []  # list names and MARKERS, in the order they came up
        self.markers = []  # (job id, "completed" | "dead"), in order
        self.patched = False
        self.low = {}  # list name -> smallest key added or removed
        self._marker_events = None

    def marker_events(self) -> list:
        """The markers as ``job_changed`` events, built once for every
        dashboard (each is sent all of them: one per ack and nack)."""
        if self._marker_events is None:
            self._marker_events = [
                {"event": "job_changed", "id": job_id, "status": status}
                for job_id, status in self.markers
            ]
        return self._marker_events

    def add_steps(self, steps) -> None:
        for step in steps:
            if step not in self.steps:
                self.steps.append(step)

    def touched(self, name: str, key) -> None:
        low = self.low.get(name)
        if low is None or key < low:
            self.low[name] = key


class Feed:
    """The dashboard lists of one store, and who to tell when they change.

    Made, it hears every change at once but has no lists yet (``lists`` is
    None): ``build`` makes them a slice per loop turn from the indexes as
    they were when the feed was made, then files what changed meanwhile,
    also a slice at a time, and only then goes live. Until then ``flush``
    files nothing and tells no one.
    """

    def __init__(self, store) -> None:
        self.store = store
        self.lists = None  # name -> JobList, once built
        self.subscribers = []  # callables taking a Turn
        self.live = False
        self.building = None  # the build's task (attach)
        self._builder = lists.Builder(store)
        self._turn = None
        self._batches = []  # lists of new jobs (save_new)
        self._batched = 0  # how many jobs they hold
        self._jobs = []  # jobs to re-file, in hook order
        self._dropped = []  # ids of jobs gone

    async def build(self) -> None:
        """Build the lists, then catch up, a slice of work at a time."""
        await _in_slices(self._builder.steps())
        self.lists = self._builder.lists
        self._builder = None
        await _in_slices(self._catching_up())
        self.live = True
        self.flush()

    async def ready(self) -> None:
        """Wait until the feed is live."""
        if not self.live:
            await asyncio.shield(self.building)

    def _catching_up(self):
        """File what changed during the build, about ``CATCH_UP`` jobs a
        step, until what is left is no more than that (for ``flush``).

        In ``_file``'s order: new jobs, then moves, then drops, each kind
        only once the kinds before it are done (a job's drop is its last
        hook, and its ``added`` its first).
        """
        while self._backlog() > CATCH_UP:
            if self._batches:
                count = taken = 0
                while taken < len(self._batches) and count < CATCH_UP:
                    count += len(self._batches[taken])
                    taken += 1
                batches = self._batches[:taken]
                del self._batches[:taken]
                self._batched -= count
                for batch in batches:
                    self._file_new(self._turn, batch)
            elif self._jobs:
                jobs = self._jobs[:CATCH_UP]
                del self._jobs[:CATCH_UP]
                for job in jobs:
                    self._refile(self._turn, job)
            else:
                dropped = self._dropped[:CATCH_UP]
                del self._dropped[:CATCH_UP]
                for job_id in dropped:
                    self._forget(self._turn, job_id)
            yield

    def _backlog(self) -> int:
        return self._batched + len(self._jobs) + len(self._dropped)

    # -- hooks (store/records.py, store/patch.py) -------------------------------

    def added(self, jobs) -> None:
        """New jobs were written (enqueue)."""
        self._begin().add_steps(_ALL)
        self._batches.append(jobs)
        self._batched += len(jobs)

    def moved(self, job, old_status) -> None:
        """``job`` was written with a new state; it had ``old_status``."""
        turn = self._begin()
        status = job.status
        if old_status == IN_FLIGHT and status != IN_FLIGHT and status != READY:
            turn.markers.append((job.id, "completed" if status == COMPLETED else "dead"))
            turn.add_steps(_RETRIED if status == SCHEDULED else _FINISHED)
        elif status == READY:
            turn.add_steps(_ALL)
        elif status == IN_FLIGHT:
            turn.add_steps(_TAKEN)
        elif status == SCHEDULED:
            turn.add_steps(_SCHEDULED)
        self._jobs.append(job)

    def dropped(self, job, stored_status: int) -> None:
        """``job``, stored with ``stored_status``, was deleted."""
        if stored_status == IN_FLIGHT and job.status in TERMINAL:
            turn = self._begin()
            marker = "completed" if job.status == COMPLETED else "dead"
            turn.markers.append((job.id, marker))
            turn.add_steps(_FINISHED)
        elif stored_status in _LISTED:
            self._begin().add_steps(_ALL)
        else:
            return  # a terminal job purged: it was in no list
        self._dropped.append(job.id)

    def patched(self) -> None:
        """A job was patched: dashboards get a full snapshot."""
        self._begin().patched = True

    # -- the end of the turn ------------------------------------------------------

    def flush(self) -> None:
        """File the turn's changes and hand the turn to every subscriber.

        Called at the end of the loop turn; outside a running loop (engine
        tests) changes wait for an explicit call.
        """
        turn = self._turn
        if turn is None or not self.live:
            return  # nothing happened, or still building: kept for later
        self._turn = None
        self._file(turn)
        for subscriber in list(self.subscribers):
            try:
                subscriber(turn)
            except Exception:
                logger.exception("a feed subscriber failed")

    def _begin(self) -> Turn:
        turn = self._turn
        if turn is None:
            turn = self._turn = Turn()
            loop = running_loop()
            if loop is not None:
                loop.call_soon(self.flush)
        return turn

    def _file(self, turn: Turn) -> None:
        batches, self._batches = self._batches, []
        self._batched = 0
        jobs, self._jobs = self._jobs, []
        dropped, self._dropped = self._dropped, []
        for batch in batches:
            self._file_new(turn, batch)
        for job in jobs:
            self._refile(turn, job)
        for job_id in dropped:
            self._forget(turn, job_id)

    def _file_new(self, turn: Turn, jobs) -> None:
        """A bulk of new jobs: one sorted run into each list (inlined: this
        is the per-job cost a watched bulk enqueue pays)."""
        ready, scheduled = [], []
        for job in jobs:
            if job.status == READY:
                ready.append((job.priority, job.id, job.queue))
            else:
                scheduled.append((job.ready_at, job.id))
        for name, keys in ((READY_LIST, ready), (SCHEDULED_LIST, scheduled)):
            if keys:
                keys.sort()  # mostly in order already: new ids sort last
                self.lists[name].insert_sorted(keys)
                turn.touched(name, keys[0])

    def _refile(self, turn: Turn, job) -> None:
        filed = key_of(job)
        for name, job_list in self.lists.items():
            if filed is not None and name == filed[0]:
                continue
            old = job_list.discard(job.id)
            if old is not None:
                turn.touched(name, old)
        if filed is not None:
            self._put(turn, *filed)

    def _put(self, turn: Turn, name: str, key) -> None:
        job_list = self.lists[name]
        old = job_list.key(key[1])
        if job_list.put(key):
            turn.touched(name, key if old is None or key < old else old)

    def _forget(self, turn: Turn, job_id: str) -> None:
        for name, job_list in self.lists.items():
            old = job_list.discard(job_id)
            if old is not None:
                turn.touched(name, old)


async def _in_slices(steps) -> None:
    """Run a generator's steps about ``SLICE_S`` at a time, each slice
    followed by a pause as long: the build takes at most half the loop's
    time, however busy the job traffic keeps the rest of it."""
    started = time.perf_counter()
    for _ in steps:
        took = time.perf_counter() - started
        if took > SLICE_S:
            await asyncio.sleep(took)
            started = time.perf_counter()


def attach(store) -> Feed:
    """The store's feed, made now (its build started) if it has none.

    Its lists are there once ``ready`` returns. The build is a task of its
    own, so a waiter that gives up (a dashboard that disconnects) leaves it
    running for the others.
    """
    if store.feed is None:
        store.feed = Feed(store)
        store.feed.building = asyncio.ensure_future(store.feed.build())
    return store.feed


def detach(store) -> None:
    """Drop the store's feed (and its build): the hooks go back to costing
    nothing."""
    if store.feed is not None and not store.feed.live:
        store.feed.building.cancel()
    store.feed = None
