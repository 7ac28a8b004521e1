"""Inputs of the engine: its configuration and per-operation requests.

These are plain frozen dataclasses built by the adapters (HTTP, CLI) after
they have decoded and validated their own input formats.
"""

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from . import defaults
from .types import Backoff, Batch, Retention


@dataclass(frozen=True)
class StorageTuning:
    """RocksDB sizing (env-only knobs of ADMIN_AND_CLI.md 2.1; None = RocksDB's).

    The real server's LSM has separate data and index partitions; here one
    keyspace holds both, so the data table size sizes the memtable and SST
    files and the index table size has nothing to apply to.
    """

    cache_size_bytes: int = defaults.DEFAULT_CACHE_SIZE_BYTES
    table_size_bytes: Optional[int] = None
    journal_size_bytes: Optional[int] = None
    l0_threshold: Optional[int] = None


@dataclass(frozen=True)
class EngineConfig:
    """Server-wide behaviour of the store (spec ADMIN_AND_CLI.md 2.1)."""

    default_retry_limit: int = defaults.DEFAULT_RETRY_LIMIT
    default_backoff: Backoff = Backoff(
        defaults.DEFAULT_BACKOFF_EXPONENT,
        defaults.DEFAULT_BACKOFF_BASE_MS,
        defaults.DEFAULT_BACKOFF_JITTER_MS,
    )
    default_completed_retention_ms: int = defaults.DEFAULT_COMPLETED_JOB_RETENTION_MS
    default_dead_retention_ms: int = defaults.DEFAULT_DEAD_JOB_RETENTION_MS
    global_in_flight_limit: int = defaults.DEFAULT_GLOBAL_IN_FLIGHT_LIMIT
    default_fsync: bool = False
    enqueue_fsync: bool = False
    scheduler_batch_size: int = defaults.DEFAULT_SCHEDULER_BATCH_SIZE
    enqueue_batch_size: int = defaults.DEFAULT_ENQUEUE_BATCH_SIZE
    complete_batch_size: int = defaults.DEFAULT_COMPLETE_BATCH_SIZE
    auto_compact_threshold: int = defaults.DEFAULT_AUTO_COMPACT_THRESHOLD
    max_payload_bytes: int = defaults.DEFAULT_MAX_PAYLOAD_SIZE_BYTES
    storage: StorageTuning = field(default_factory=StorageTuning)


class EnqueueRequest(NamedTuple):
    """One validated job to enqueue; ``payload`` is compact JSON bytes.

    A NamedTuple rather than a frozen dataclass: a bulk enqueue builds one
    per job, and the dataclass's ``object.__setattr__`` per field cost ~2 us.
    """

    type: str
    queue: str
    payload: bytes
    priority: int = defaults.DEFAULT_PRIORITY
    ready_at: Optional[int] = None
    retry_limit: Optional[int] = None
    backoff: Optional[Backoff] = None
    retention: Optional[Retention] = None
    unique_key: Optional[str] = None
    unique_while: Optional[str] = None
    batch: Optional[Batch] = None


@dataclass(frozen=True)
class FailureRequest:
    """A nack: the error to record and how to proceed."""

    message: str
    error_type: Optional[str] = None
    backtrace: Optional[str] = None
    retry_at: Optional[int] = None
    kill: bool = False
