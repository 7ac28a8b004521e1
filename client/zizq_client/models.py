"""The values that cross the wire: jobs and error records the server
returns, and the per-job options (backoff, retention, uniqueness) a client
sends, plus durations written the way people write them ("5m", 30, a
``timedelta``).

Jobs are plain slotted objects built straight from the decoded map, because
a worker builds one per delivered job; unknown fields a newer server adds
are kept in ``extra`` rather than refused.
"""

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

JOB_FIELDS = (
    "id", "type", "queue", "priority", "status", "payload", "ready_at",
    "attempts", "retry_limit", "backoff", "dequeued_at", "failed_at",
    "retention", "purge_at", "completed_at", "unique_key", "unique_while",
    "duplicate", "folded", "batch",
)  # fmt: skip
_FIELD_SET = frozenset(JOB_FIELDS)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_ms(value) -> int:
    """A duration in milliseconds: seconds as a number, a ``timedelta``, or a
    string such as ``"250ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"7d"``."""
    if isinstance(value, timedelta):
        return int(value.total_seconds() * 1000)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"duration must not be negative: {value!r}")
        return int(value * 1000)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"invalid duration: {value!r}")
    return int(float(match[1]) * _UNIT_MS[match[2] or "s"])


def to_timestamp_ms(value) -> int:
    """An absolute time in ms: a ``datetime`` (naive means UTC) or ms."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    return int(value)


@dataclass(frozen=True)
class Backoff:
    """Retry delay ``attempts**exponent`` seconds + ``base`` + up to
    ``jitter * attempts`` (``base`` and ``jitter`` as durations)."""

    base: object = "15s"
    exponent: float = 4.0
    jitter: object = "30s"

    def to_wire(self) -> dict:
        return {
            "exponent": float(self.exponent),
            "base_ms": to_ms(self.base),
            "jitter_ms": to_ms(self.jitter),
        }


@dataclass(frozen=True)
class Retention:
    """How long finished jobs stay visible; None keeps the server default."""

    completed: object = None
    dead: object = None

    def to_wire(self) -> dict:
        wire = {}
        if self.completed is not None:
            wire["completed_ms"] = to_ms(self.completed)
        if self.dead is not None:
            wire["dead_ms"] = to_ms(self.dead)
        return wire


@dataclass(frozen=True)
class Unique:
    """A unique job (pro): ``while_`` is "queued", "active" or "exists";
    ``key`` is a fixed string, a tuple of argument names whose values make
    the key, or None for every argument."""

    while_: str = "queued"
    key: object = None


@dataclass(frozen=True)
class Batch:
    """A batched job (pro): while an earlier job of the same ``key`` is
    still ready, an enqueue whose ``when`` (jq over ``$existing`` and
    ``$new``) holds is folded into it by ``fold``. ``key`` is a string or
    a function of the payload (``lambda p: f"push:{p['platform']}"``)."""

    key: object
    when: str
    fold: str

    def to_wire(self, payload) -> dict:
        key = self.key(payload) if callable(self.key) else self.key
        return {"key": str(key), "when": self.when, "fold": self.fold}


class Job:
    """A job as the server describes it (``payload`` only where sent).

    Each field is a property reading the decoded map (absent ones are
    None), so building one costs a single attribute store and reading a
    field a dict lookup: a worker makes one per delivered job and reads
    several fields of it. Fields a newer server adds are in ``extra``.
    """

    __slots__ = ("_wire",)

    def __init__(self, wire: dict) -> None:
        self._wire = wire

    @property
    def extra(self) -> dict:
        return {k: v for k, v in self._wire.items() if k not in _FIELD_SET}

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.type} {self.queue} {self.status}>"

    def to_dict(self) -> dict:
        """The fields as the server sent them."""
        return dict(self._wire)


def _field(name: str) -> property:
    def get(job: Job):
        return job._wire.get(name)

    def put(job: Job, value) -> None:
        job._wire[name] = value

    return property(get, put)


for _name in JOB_FIELDS:
    setattr(Job, _name, _field(_name))
del _name


@dataclass(frozen=True)
class ErrorRecord:
    """One failed attempt of a job."""

    attempt: int
    message: str
    dequeued_at: int
    failed_at: int
    error_type: str | None = None
    backtrace: str | None = None

    @classmethod
    def from_wire(cls, wire: dict) -> "ErrorRecord":
        return cls(
            attempt=wire["attempt"],
            message=wire["message"],
            dequeued_at=wire.get("dequeued_at"),
            failed_at=wire.get("failed_at"),
            error_type=wire.get("error_type"),
            backtrace=wire.get("backtrace"),
        )
