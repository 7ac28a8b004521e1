"""The three dashboard lists: which jobs are in each, in the spec's order.

``ready`` is ordered by (priority, id), which is take order; ``in_flight``
by (dequeued_at, id); ``scheduled`` by (ready_at, id) (ADMIN_AND_CLI.md
6.3). Each ``JobList`` keeps its ``(value, id, ...)`` keys in a
``RankedList``
and, per job id, the key it is filed under, so a job that moves or leaves
is found without knowing what it looked like before.

``build`` copies the store's in-memory indexes (never RocksDB): the ready
index's and the scheduled index's ordered views, and the dispatcher's
in-flight table, whose held jobs carry ``dequeued_at``.
"""

from operator import itemgetter

from ..types import IN_FLIGHT, READY, SCHEDULED
from .ranked import RankedList

READY_LIST = "ready"
IN_FLIGHT_LIST = "in_flight"
SCHEDULED_LIST = "scheduled"
LIST_NAMES = (READY_LIST, IN_FLIGHT_LIST, SCHEDULED_LIST)


class JobList:
    """One list's ordered keys and each member's key."""

    __slots__ = ("keys", "name", "ranked")

    def __init__(self, name: str, keys: list) -> None:
        """``keys`` ascending, as the store's ordered views give them."""
        self.name = name
        self.ranked = RankedList(keys, ordered=True)
        self.keys = dict(zip(map(itemgetter(1), keys), keys))  # job id -> key

    def __len__(self) -> int:
        return len(self.ranked)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self.keys

    def position(self, job_id: str):
        """The job's 0-based position, or None if it is not in the list."""
        key = self.keys.get(job_id)
        return None if key is None else self.ranked.position(key)

    def keys_between(self, start: int, stop: int) -> list:
        return self.ranked.slice(start, stop)

    def insert_sorted(self, keys: list) -> None:
        """File new members, given as ascending keys."""
        self.ranked.insert_sorted(keys)
        self.keys.update(zip(map(itemgetter(1), keys), keys))

    def put(self, key) -> bool:
        """File a job under ``key``; True if that changed anything."""
        old = self.keys.get(key[1])
        if old == key:
            return False
        if old is not None:
            self.ranked.remove(old)
        self.keys[key[1]] = key
        self.ranked.add(key)
        return True

    def discard(self, job_id: str):
        """Take a job out; the key it had, or None if it was not here."""
        key = self.keys.pop(job_id, None)
        if key is not None:
            self.ranked.remove(key)
        return key


def key_of(job):
    """``(list name, key)`` for a job's current state, or None (terminal)."""
    status = job.status
    if status == READY:
        return READY_LIST, (job.priority, job.id, job.queue)
    if status == IN_FLIGHT:
        return IN_FLIGHT_LIST, (job.dequeued_at, job.id)
    if status == SCHEDULED:
        return SCHEDULED_LIST, (job.ready_at, job.id)
    return None


def build(store) -> dict:
    """The three lists as the store's indexes hold them now.

    The ready index's ``(priority, id, queue)`` entries are the ready
    list's keys as they come (ids are unique, so the queue never decides
    an order): a million jobs make no tuple more.
    """
    in_flight = sorted(
        (taker.in_flight[job_id].dequeued_at, job_id)
        for job_id, taker in store.dispatcher.in_flight.items()
    )
    return {
        READY_LIST: JobList(READY_LIST, store.ready.ordered()),
        IN_FLIGHT_LIST: JobList(IN_FLIGHT_LIST, in_flight),
        SCHEDULED_LIST: JobList(SCHEDULED_LIST, store.scheduled.ordered()),
    }
