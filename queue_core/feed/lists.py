"""The three dashboard lists: which jobs are in each, in the spec's order.

``ready`` is ordered by (priority, id), which is take order; ``in_flight``
by (dequeued_at, id); ``scheduled`` by (ready_at, id) (ADMIN_AND_CLI.md
6.3). Each ``JobList`` keeps its ``(value, id, ...)`` keys in a
``RankedList`` and, per job id, the key it is filed under, so a job that
moves or leaves is found without knowing what it looked like before.

``Builder`` copies the store's in-memory indexes (never RocksDB): the
ready and scheduled indexes' snapshots, and the dispatcher's in-flight
table, whose held jobs carry ``dequeued_at``.
"""

from ..types import IN_FLIGHT, READY, SCHEDULED
from .ranked import RankedList

SLICE = 2_000  # members filed per build step
SHARDS = 64  # dicts of a list's id -> key table (a power of two)
_SHARD_MASK = SHARDS - 1

READY_LIST = "ready"
IN_FLIGHT_LIST = "in_flight"
SCHEDULED_LIST = "scheduled"
LIST_NAMES = (READY_LIST, IN_FLIGHT_LIST, SCHEDULED_LIST)


class JobList:
    """One list's ordered keys and each member's key.

    The id -> key table is ``SHARDS`` dicts, chosen by the id's (cached)
    hash: a dict that grows past its size is rehashed whole in one C call,
    and at a million members that one call held the loop for a third of a
    second; no shard is ever more than a small part of the list.
    """

    __slots__ = ("_shards", "name", "ranked")

    def __init__(self, name: str, ranked=None) -> None:
        self.name = name
        self.ranked = RankedList() if ranked is None else ranked
        self._shards = [{} for _ in range(SHARDS)]

    def __len__(self) -> int:
        return len(self.ranked)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._shards[hash(job_id) & _SHARD_MASK]

    def key(self, job_id: str):
        """The key the job is filed under, or None if it is not here."""
        return self._shards[hash(job_id) & _SHARD_MASK].get(job_id)

    def position(self, job_id: str):
        """The job's 0-based position, or None if it is not in the list."""
        key = self.key(job_id)
        return None if key is None else self.ranked.position(key)

    def keys_between(self, start: int, stop: int) -> list:
        return self.ranked.slice(start, stop)

    def insert_sorted(self, keys: list) -> None:
        """File new members, given as ascending keys."""
        self.ranked.insert_sorted(keys)
        self.note(keys)

    def note(self, keys) -> None:
        """Record members' keys in the id table (not in ``ranked``)."""
        shards = self._shards
        for key in keys:
            job_id = key[1]
            shards[hash(job_id) & _SHARD_MASK][job_id] = key

    def put(self, key) -> bool:
        """File a job under ``key``; True if that changed anything."""
        shard = self._shards[hash(key[1]) & _SHARD_MASK]
        old = shard.get(key[1])
        if old == key:
            return False
        if old is not None:
            self.ranked.remove(old)
        shard[key[1]] = key
        self.ranked.add(key)
        return True

    def discard(self, job_id: str):
        """Take a job out; the key it had, or None if it was not here."""
        key = self._shards[hash(job_id) & _SHARD_MASK].pop(job_id, None)
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


class Builder:
    """The three lists as the store's indexes hold them when this is made,
    built a slice at a time (``steps``) so a million jobs never hold the
    loop: the first dashboard to connect to a full server must not stall
    the job traffic for the second it takes to order them all.

    Made, it has copied only what the indexes hold (their ``snapshot``, one
    pass over a table, and the in-flight keys), so what changes after is
    the feed's to replay. ``steps`` then files ``SLICE`` members at a time:
    their keys sorted into a run, which ``RankedList.insert_sorted`` places
    with one extend and merge per chunk it lands in. The snapshot is mostly
    in id order (jobs join the index as they are enqueued), so a run
    usually lands in a few places, one per priority.
    """

    def __init__(self, store) -> None:
        ready, scheduled = store.ready, store.scheduled
        in_flight = [
            (taker.in_flight[job_id].dequeued_at, job_id)
            for job_id, taker in store.dispatcher.in_flight.items()
        ]
        self._sources = (
            (READY_LIST, ready.snapshot(), ready.keys),
            (IN_FLIGHT_LIST, in_flight, _slice),
            (SCHEDULED_LIST, scheduled.snapshot(), scheduled.keys),
        )
        self.lists = {}

    def steps(self):
        """Build the lists, yielding after each slice of work."""
        for name, snapshot, keys_of in self._sources:
            job_list = JobList(name)
            for start in range(0, len(snapshot), SLICE):
                run = keys_of(snapshot, start, start + SLICE)
                run.sort()
                job_list.insert_sorted(run)
                yield
            self.lists[name] = job_list
        self._sources = ()


def _slice(keys: list, start: int, stop: int) -> list:
    return keys[start:stop]
