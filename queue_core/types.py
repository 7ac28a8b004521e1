"""The job record and its small value types.

``Job`` is a plain slotted object so the hot paths (take, ack, render) touch
attributes without dict overhead. Optional per-job overrides are ``None``
when unset, which is also how the spec's "omitted when unset" rendering is
decided. The payload is kept as the compact JSON bytes it was stored as: it
is rendered into responses without being decoded again.
"""

from operator import attrgetter
from typing import NamedTuple, Optional

# Status codes double as the status byte of index keys, so their numeric
# order is the lifecycle order the spec uses when rendering status lists.
SCHEDULED = 0
READY = 1
IN_FLIGHT = 2
COMPLETED = 3
DEAD = 4

STATUS_NAMES = ("scheduled", "ready", "in_flight", "completed", "dead")
STATUS_CODES = {name: code for code, name in enumerate(STATUS_NAMES)}
TERMINAL = frozenset((COMPLETED, DEAD))

UNIQUE_SCOPES = ("queued", "active", "exists")


class Backoff(NamedTuple):
    """A per-job backoff override; ``exponent`` is kept as given (int or float)."""

    exponent: float
    base_ms: int
    jitter_ms: int


class Retention(NamedTuple):
    """A per-job retention override; either part may be unset."""

    completed_ms: Optional[int]
    dead_ms: Optional[int]


class Batch(NamedTuple):
    """A batched job's configuration (stored, echoed; pro feature)."""

    key: str
    when: str
    fold: str


class ErrorRecord(NamedTuple):
    """One recorded failure of a job."""

    attempt: int
    message: str
    error_type: Optional[str]
    backtrace: Optional[str]
    dequeued_at: Optional[int]
    failed_at: int


class Job:
    """One job as stored: metadata plus its payload as compact JSON bytes."""

    __slots__ = (
        "id",
        "type",
        "queue",
        "priority",
        "status",
        "ready_at",
        "attempts",
        "retry_limit",
        "backoff",
        "dequeued_at",
        "failed_at",
        "retention",
        "purge_at",
        "completed_at",
        "unique_key",
        "unique_while",
        "batch",
        "payload",
    )

    def __init__(
        self,
        id: str,
        type: str,
        queue: str,
        priority: int,
        status: int,
        ready_at: int,
        attempts: int = 0,
        retry_limit: Optional[int] = None,
        backoff: Optional[Backoff] = None,
        dequeued_at: Optional[int] = None,
        failed_at: Optional[int] = None,
        retention: Optional[Retention] = None,
        purge_at: Optional[int] = None,
        completed_at: Optional[int] = None,
        unique_key: Optional[str] = None,
        unique_while: Optional[str] = None,
        batch: Optional[Batch] = None,
        payload: bytes = b"null",
    ) -> None:
        self.id = id
        self.type = type
        self.queue = queue
        self.priority = priority
        self.status = status
        self.ready_at = ready_at
        self.attempts = attempts
        self.retry_limit = retry_limit
        self.backoff = backoff
        self.dequeued_at = dequeued_at
        self.failed_at = failed_at
        self.retention = retention
        self.purge_at = purge_at
        self.completed_at = completed_at
        self.unique_key = unique_key
        self.unique_while = unique_while
        self.batch = batch
        self.payload = payload

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    def copy(self) -> "Job":
        """A shallow copy (~2 us; ``copy.copy`` of a slotted object is ~12)."""
        return Job(*_fields(self))

    def visible_at(self, now_ms: int) -> bool:
        """False once a retained terminal job is past its purge time."""
        return self.purge_at is None or self.purge_at > now_ms

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.queue}/{self.type} {self.status_name}>"


# The slots are in the constructor's parameter order.
_fields = attrgetter(*Job.__slots__)
