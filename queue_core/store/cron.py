"""Cron groups and entries: their RocksDB records, the in-memory mirror,
and the time index the cron scheduler sleeps on.

Key layout (beside the job keys of ``codec``; names hold no NUL, API.md
2.4, so the separator is unambiguous and a group's entries follow its own
record in entry-name order):

    C <group utf-8> 00                 -> group record (cron.records)
    C <group utf-8> 00 <entry utf-8>   -> entry record: definition, pause state
    S <group utf-8> 00 <entry utf-8>   -> the entry's schedule when last saved
    F <count u64>                      -> a fire record: the entries a pass moved

RocksDB holds the truth; ``Crons`` mirrors every group and entry in memory
(loaded at start-up), so reads and the scheduler's passes touch no disk,
and keeps the entries that have a next occurrence in a ``DueIndex``
(cron.due) keyed ``group NUL entry``. Every change goes through
``save_entry``/``drop_entry``/``save_group``/``drop_group``, which write
the pending batch (the caller's operation commits it) and keep the index
and the mirror in step, and wake the scheduler (``changed``): a change
may move the earliest occurrence. The operations themselves are ``store.cron_define``
(definitions) and ``store.cron_fire`` (firing).

Firing does not rewrite schedule records: a pass writes one fire record
(``record_pass``), numbered by a count of fire records that only grows,
and a schedule record holds the count at the time it was written. On
start-up the fire records are replayed in order over the schedule records,
each entry's move applied only when the fire record is newer than the
entry's schedule record, so a redefinition, a pause or a delete and
re-create after a pass is never undone by it. Once
``CRON_MERGE_FIRE_RECORDS`` fire records have gathered, ``merge_fires``
replaces them with one, the current schedule of every entry moved since
it was last saved: the records to replay stay few, and a busy second
costs one small write per pass where it would cost one overwrite per
entry (docs/performance.md).
"""

import asyncio
import logging
import struct

from ..cron.due import DueIndex
from ..cron.records import (
    decode_entry,
    decode_fires,
    decode_group,
    decode_schedule,
    encode_entry,
    encode_fires,
    encode_group,
    encode_schedule,
)
from ..defaults import CRON_MERGE_FIRE_RECORDS
from ..errors import NotFound
from . import batch, cron_define, cron_fire
from .keyspace import prefix_end

logger = logging.getLogger("zizq.cron")

TAG = b"C"
SCHEDULE_TAG = b"S"
FIRES_TAG = b"F"
_COUNT = struct.Struct(">Q")


def group_key(group: str) -> bytes:
    return TAG + group.encode() + b"\x00"


def entry_key(group: str, entry: str) -> bytes:
    return TAG + group.encode() + b"\x00" + entry.encode()


def schedule_key(group: str, entry: str) -> bytes:
    """The schedule record's key: also ``SCHEDULE_TAG`` + the due key's bytes."""
    return SCHEDULE_TAG + group.encode() + b"\x00" + entry.encode()


def fires_key(count: int) -> bytes:
    return FIRES_TAG + _COUNT.pack(count)


def due_key(group: str, entry: str) -> str:
    return f"{group}\0{entry}"


class Crons:
    """The store's cron groups: mirror, time index and operations."""

    def __init__(self, store) -> None:
        self.store = store
        self.groups = {}  # name -> CronGroup (its entries by name)
        self.by_key = {}  # due key -> (group, entry), for the passes
        self.due = DueIndex()  # due keys by next_enqueue_at (checked when due)
        self.changed = asyncio.Event()
        self.count = 0  # fire records ever written (the newest one's number)
        self.fires = []  # the numbers of the fire records in the database
        self.moved = set()  # due keys moved by a pass since they were saved
        # Whether an entry has had a batch template since start-up: only
        # then does a pass look for templates that fold (store.cron_fire).
        self.batched = False

    # -- start-up ------------------------------------------------------------

    def load(self) -> int:
        """Read every group and entry from the database; returns the entries."""
        count = 0
        for key, value in self.store.ks.scan(TAG, prefix_end(TAG)):
            group_name, _, entry_name = key[1:].partition(b"\x00")
            group_name = group_name.decode()
            if not entry_name:
                self.groups[group_name] = decode_group(group_name, value)
                continue
            entry = decode_entry(entry_name.decode(), value)
            group = self.groups[group_name]
            group.entries[entry.name] = entry
            self.by_key[due_key(group_name, entry.name)] = group, entry
            self.batched = self.batched or entry.job.batch is not None
            count += 1
        saved = {}  # due key -> the fire record count its schedule record holds
        for key, value in self.store.ks.scan(SCHEDULE_TAG, prefix_end(SCHEDULE_TAG)):
            due = key[1:].decode()
            saved[due] = decode_schedule(self.lookup(due)[1], value)
        self.count = max(saved.values(), default=0)
        for key, value in self.store.ks.scan(FIRES_TAG, prefix_end(FIRES_TAG)):
            self._replay(_COUNT.unpack(key[1:])[0], decode_fires(value), saved)
        for key, (_, entry) in self.by_key.items():
            self._index(key, entry, None)
        return count

    def _replay(self, number: int, moves, saved: dict) -> None:
        """Apply a fire record's moves to the entries saved before it."""
        self.fires.append(number)
        self.count = max(self.count, number)
        for due, next_at, last_at in moves:
            if saved.get(due, number) < number:  # the entry exists, saved earlier
                entry = self.lookup(due)[1]
                entry.next_enqueue_at = next_at
                entry.last_enqueue_at = last_at
                self.moved.add(due)

    def lookup(self, due: str):
        """The group and entry of a due key (store.cron.due_key)."""
        return self.by_key[due]

    # -- reads ---------------------------------------------------------------

    def entry_count(self) -> int:
        return sum(len(group.entries) for group in self.groups.values())

    def names(self) -> list:
        """Group names in byte order (code-point order is UTF-8 byte order)."""
        return sorted(self.groups)

    def group(self, name: str):
        group = self.groups.get(name)
        if group is None:
            raise NotFound(f"cron group '{name}' not found")
        return group

    def entry(self, group_name: str, name: str):
        group = self.groups.get(group_name)
        entry = None if group is None else group.entries.get(name)
        if entry is None:
            raise NotFound(f"cron entry '{name}' not found in group '{group_name}'")
        return entry

    # -- the writes every operation goes through ------------------------------

    def save_group(self, group) -> None:
        self.groups[group.name] = group
        self.store.ks.put(group_key(group.name), encode_group(group))
        self.changed.set()

    def save_entry(self, group, entry) -> None:
        group.entries[entry.name] = entry
        key = due_key(group.name, entry.name)
        old = self.by_key.get(key)
        self.by_key[key] = group, entry
        self.batched = self.batched or entry.job.batch is not None
        ks = self.store.ks
        ks.put(entry_key(group.name, entry.name), encode_entry(entry))
        ks.put(schedule_key(group.name, entry.name), encode_schedule(entry, self.count))
        self.moved.discard(key)
        self._index(key, entry, None if old is None else old[1].next_enqueue_at)
        self.changed.set()

    def drop_entry(self, group, name: str) -> None:
        del group.entries[name]
        key = due_key(group.name, name)
        del self.by_key[key]
        self.store.ks.delete(entry_key(group.name, name))
        self.store.ks.delete(schedule_key(group.name, name))
        self.moved.discard(key)  # its key in the index is dropped when due
        self.changed.set()

    def drop_group(self, group) -> int:
        """Delete a group and its entries; returns the records deleted."""
        records = 2 * len(group.entries) + 1
        for name in list(group.entries):
            self.drop_entry(group, name)
        del self.groups[group.name]
        self.store.ks.delete(group_key(group.name))
        return records

    # -- fire records ------------------------------------------------------------

    def record_pass(self, moves: dict) -> None:
        """Write the fire record of a pass: ``moves`` maps each ``(next,
        last)`` the entries it moved now hold to their keys (as
        cron.records.encode_fires); they move in the index too."""
        self.count += 1
        self.fires.append(self.count)
        self.store.ks.put(fires_key(self.count), encode_fires(moves))
        for (next_at, _), keys in moves.items():
            self.moved.update(keys)
            if next_at is not None:
                self.due.add_many(keys, next_at)
        if len(self.fires) >= CRON_MERGE_FIRE_RECORDS:
            self.merge_fires()

    def merge_fires(self) -> None:
        """Replace the fire records with one: the schedule of every entry
        moved since it was saved, under the newest record's number (newer
        than those entries' schedule records, and no newer than any
        schedule record written after it)."""
        ks = self.store.ks
        for number in self.fires:
            ks.delete(fires_key(number))
        self.fires = []
        if self.moved:
            moves = {}
            for due in self.moved:
                entry = self.lookup(due)[1]
                at = entry.next_enqueue_at, entry.last_enqueue_at
                moves.setdefault(at, []).append(due)
            self.fires.append(self.count)
            ks.put(fires_key(self.count), encode_fires(moves))

    def _index(self, key: str, entry, indexed) -> None:
        """Index a saved entry unless its key is already at its next
        occurrence (``indexed``: the one it was saved with before, None if
        none). An entry's ``next_enqueue_at`` changes only in a pass, which
        indexes it again, or with a save."""
        if entry.next_enqueue_at is not None and entry.next_enqueue_at != indexed:
            self.due.add(key, entry.next_enqueue_at)

    # -- operations (API.md 7.6.4) ---------------------------------------------

    async def put_group(self, name: str, paused, definitions):
        group = cron_define.put_group(self, name, paused, definitions, self._now())
        await self._commit()
        return group

    async def patch_group(self, name: str, paused: bool):
        group = cron_define.patch_group(self, name, paused, self._now())
        await self._commit()
        return group

    async def delete_group(self, name: str) -> None:
        self.drop_group(self.group(name))
        await self._commit()

    async def delete_all(self) -> int:
        """Delete every group (``DELETE /crons``, ``POST /reset``)."""
        records = 0
        groups = list(self.groups.values())
        for group in groups:
            records += self.drop_group(group)
        records += len(self.fires)
        self.merge_fires()  # no entry is left: this deletes the fire records
        self.due = DueIndex()  # nor their keys, which drop_entry leaves
        await self._commit()
        await self.store._compact_after(records)
        return len(groups)

    async def add_entry(self, group_name: str, definition):
        entry = cron_define.add_entry(self, group_name, definition, self._now())
        await self._commit()
        return entry

    async def put_entry(self, group_name: str, name: str, definition):
        entry = cron_define.put_entry(self, group_name, name, definition, self._now())
        await self._commit()
        return entry

    async def patch_entry(self, group_name: str, name: str, paused: bool):
        entry = self.entry(group_name, name)
        cron_define.patch_entry(self, group_name, entry, paused, self._now())
        await self._commit()
        return entry

    async def delete_entry(self, group_name: str, name: str) -> None:
        self.entry(group_name, name)
        self.drop_entry(self.groups[group_name], name)
        await self._commit()

    async def fire_due(self, limit: int) -> list:
        """Fire up to ``limit`` due entries (store.cron_fire); returns
        ``(next_enqueue_at, due keys)`` of those that enqueued a job."""
        now = self._now()
        fired = None
        while fired is None:
            planned = cron_fire.batched_due(self, now, limit) if self.batched else []
            if not planned:
                fired = cron_fire.fire_due(self, now, limit)
            else:
                fired = await self._fold(now, limit, planned)
        config = self.store.config
        await self.store.ks.commit(config.enqueue_fsync, config.enqueue_batch_size)
        return fired

    async def _fold(self, now: int, limit: int, planned: list):
        """A pass whose batch templates fold; None to plan it again.

        A fold that fails (its target's ``fold`` errs or grows the payload
        past the limit, or jq overruns a bound) cannot be answered with a
        422: the pass then fires the templates as new jobs, and says so.
        """

        def write(fold):
            return cron_fire.fire_due(self, now, limit, planned, fold)

        try:
            return await batch.enqueue(self.store, planned, write)
        except batch.Refused as exc:
            logger.warning(
                "cron batch fold failed; enqueued without folding",
                extra={"fields": {"error": exc.message}},
            )
            return cron_fire.fire_due(self, now, limit, planned)

    def _now(self) -> int:
        return self.store.clock()

    async def _commit(self) -> None:
        await self.store.ks.commit(self.store.config.default_fsync)
