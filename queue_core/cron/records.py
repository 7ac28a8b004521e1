"""Cron groups and entries as the engine keeps them, and their stored form.

A group holds its entries by name; an entry holds its definition (the
expression, its zone, the job template), its pause bookkeeping and its
schedule state (``next_enqueue_at``, ``last_enqueue_at``). The template is
an ``EnqueueRequest`` without ``ready_at`` (API.md 7.6.1): firing enqueues
it as it is, through the enqueue operation the API uses.

Records are msgpack arrays with a fixed field order, like job records
(codec): a group's record holds its own state only, and each entry is a
record of its own, its definition and pause state (``encode_entry``),
beside a schedule record (``encode_schedule``: next, last and the fire
record count when it was written, three u64s). Firing writes neither: a
pass writes one fire record (``encode_fires``), the new schedule of every
entry it moved, in the batch that holds the jobs it enqueued. So a
definition that did not change is never re-encoded, and a busy second is
a few records, not one per entry (store.cron says how the two kinds are
ordered on recovery).
"""

import struct
from typing import NamedTuple

import msgpack

from ..options import EnqueueRequest
from ..types import Backoff, Batch, Retention

_packb = msgpack.Packer(use_bin_type=True).pack
_SCHEDULE = struct.Struct(">QQQ")
_SCHEDULE_V1 = struct.Struct(">QQ")  # before fire records: no count


class EntryDefinition(NamedTuple):
    """An entry as a request defines it (``paused`` None: not given)."""

    name: str
    expression: str
    timezone: str | None
    paused: bool | None
    job: EnqueueRequest


class CronEntry:
    """One entry of a group, with its pause and schedule state."""

    __slots__ = (
        "expression",
        "job",
        "last_enqueue_at",
        "name",
        "next_enqueue_at",
        "paused",
        "paused_at",
        "resumed_at",
        "schedule",
        "timezone",
    )

    def __init__(
        self,
        name: str,
        expression: str,
        timezone: str | None,
        job: EnqueueRequest,
        paused: bool = False,
        paused_at: int | None = None,
        resumed_at: int | None = None,
        next_enqueue_at: int | None = None,
        last_enqueue_at: int | None = None,
    ) -> None:
        self.name = name
        self.expression = expression
        self.timezone = timezone
        # What a pass computes next occurrences by; an entry's expression
        # and zone never change (a redefinition is a new entry, rules).
        self.schedule = (expression, timezone)
        self.job = job
        self.paused = paused
        self.paused_at = paused_at
        self.resumed_at = resumed_at
        self.next_enqueue_at = next_enqueue_at
        self.last_enqueue_at = last_enqueue_at


class CronGroup:
    """A named group of entries; ``entries`` maps names to entries."""

    __slots__ = ("entries", "name", "paused", "paused_at", "resumed_at")

    def __init__(
        self,
        name: str,
        paused: bool = False,
        paused_at: int | None = None,
        resumed_at: int | None = None,
    ) -> None:
        self.name = name
        self.paused = paused
        self.paused_at = paused_at
        self.resumed_at = resumed_at
        self.entries = {}


def encode_group(group: CronGroup) -> bytes:
    return _packb([group.paused, group.paused_at, group.resumed_at])


def decode_group(name: str, data: bytes) -> CronGroup:
    paused, paused_at, resumed_at = msgpack.unpackb(data)
    return CronGroup(name, paused, paused_at, resumed_at)


def encode_entry(entry: CronEntry) -> bytes:
    """The entry's definition and pause state (not its schedule)."""
    return _packb(
        [
            entry.expression,
            entry.timezone,
            entry.paused,
            entry.paused_at,
            entry.resumed_at,
            _template_fields(entry.job),
        ]
    )


def decode_entry(name: str, data: bytes) -> CronEntry:
    """An entry as ``encode_entry`` stored it, not scheduled yet."""
    expression, timezone, paused, paused_at, resumed_at, job = msgpack.unpackb(data)
    return CronEntry(
        name, expression, timezone, _template(job), paused, paused_at, resumed_at
    )


def encode_schedule(entry: CronEntry, count: int) -> bytes:
    """``next_enqueue_at``, ``last_enqueue_at`` (0: unset) and ``count``,
    the number of fire records written before this one."""
    return _SCHEDULE.pack(entry.next_enqueue_at or 0, entry.last_enqueue_at or 0, count)


def decode_schedule(entry: CronEntry, data: bytes) -> int:
    """Set the entry's schedule; returns the record's fire record count."""
    if len(data) == _SCHEDULE_V1.size:
        next_at, last_at = _SCHEDULE_V1.unpack(data)
        count = 0
    else:
        next_at, last_at, count = _SCHEDULE.unpack(data)
    entry.next_enqueue_at = next_at or None
    entry.last_enqueue_at = last_at or None
    return count


def encode_fires(moves: dict) -> bytes:
    """A fire record: the entries a pass moved, as ``{(next_enqueue_at,
    last_enqueue_at): [due key, ...]}`` (None: unset); the entries of a
    busy second share a few of these. Names hold no ',' (API.md 2.4), so
    the keys of each are one string."""
    return _packb([[at, last, ",".join(keys)] for (at, last), keys in moves.items()])


def decode_fires(data: bytes):
    """``(due key, next, last)`` of every entry a fire record moved."""
    for next_at, last_at, keys in msgpack.unpackb(data):
        for key in keys.split(","):
            yield key, next_at, last_at


def _template_fields(job: EnqueueRequest) -> list:
    return [
        job.type,
        job.queue,
        job.payload,
        job.priority,
        job.retry_limit,
        None if job.backoff is None else list(job.backoff),
        None if job.retention is None else list(job.retention),
        job.unique_key,
        job.unique_while,
        None if job.batch is None else list(job.batch),
    ]


def _template(fields: list) -> EnqueueRequest:
    job_type, queue, payload, priority, retry_limit = fields[:5]
    backoff, retention, unique_key, unique_while, batch = fields[5:]
    return EnqueueRequest(
        job_type,
        queue,
        payload,
        priority,
        None,
        retry_limit,
        None if backoff is None else Backoff(*backoff),
        None if retention is None else Retention(*retention),
        unique_key,
        unique_while,
        None if batch is None else Batch(*batch),
    )
