"""Job records <-> bytes, RocksDB keys, response rendering, enqueue requests
and ids (reference).

Key layout (one keyspace, a tag byte per kind; ids are 25 ASCII bytes and
sort in creation order; integers are big-endian so byte order = numeric
order):

    J <id>                                 -> job record (msgpack array)
    I <status:1> <queue utf-8> 00 <id>     -> index value: priority u16, ready_at u64
                                              (in_flight: then dequeued_at u64)
    E <id> <attempt:u32>                   -> error record (msgpack array)
    P <purge_at:u64> <id>                  -> b"" (reaper's time index)
    U <unique key utf-8>                   -> holder id + scope byte (q|a|e)

The ``I`` index lists jobs of one status and queue in id order, which is
both the order ``GET /jobs`` pages in and what start-up needs to rebuild the
in-memory indexes without decoding job records (its value carries the
priority and ``ready_at``). An ``in_flight`` entry also carries the
``dequeued_at`` of its take, because take writes no record (see
store/records.py ``refile``) and recovery must return the job to ``ready``
as it was; entries without it (stores written before it was added) still
parse. Queue names cannot contain NUL (validated), so the separator is
unambiguous.

Records are msgpack arrays with a fixed field order: msgpack is C-fast and
compact, and an array costs no key strings per record.
"""

import random
import struct
import time

import msgpack
import orjson

from .. import names
from ..defaults import (
    DEFAULT_PRIORITY,
    DEFAULT_UNIQUE_WHILE,
    MAX_PRIORITY,
    MAX_U32,
    MAX_U64,
)
from ..duplicates import duplicate_field
from ..options import EnqueueRequest
from ..types import (
    READY,
    SCHEDULED,
    STATUS_NAMES,
    UNIQUE_SCOPES,
    Backoff,
    Batch,
    ErrorRecord,
    Job,
    Retention,
)

JOB_TAG = b"J"
INDEX_TAG = b"I"
ERROR_TAG = b"E"
PURGE_TAG = b"P"
UNIQUE_TAG = b"U"
# The byte each unique scope is stored as, after its holder's id.
UNIQUE_SCOPE_BYTES = {"queued": b"q", "active": b"a", "exists": b"e"}

_INDEX_VALUE = struct.Struct(">HQ")
_IN_FLIGHT_VALUE = struct.Struct(">HQQ")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_ID_LEN = 25
_packb = msgpack.Packer(use_bin_type=True).pack
_Fragment = orjson.Fragment
_dumps = orjson.dumps


# -- keys ---------------------------------------------------------------------


def job_key(job_id: str) -> bytes:
    return JOB_TAG + job_id.encode()


def index_prefix(status: int, queue: str) -> bytes:
    return INDEX_TAG + bytes((status,)) + queue.encode() + b"\x00"


def index_key(status: int, queue: str, job_id: str) -> bytes:
    return INDEX_TAG + bytes((status,)) + queue.encode() + b"\x00" + job_id.encode()


def parse_index_key(key: bytes) -> tuple:
    """``(status, queue, id)`` of an ``I`` key."""
    return key[1], key[2:-_ID_LEN - 1].decode(), key[-_ID_LEN:].decode()


def index_value(priority: int, ready_at: int) -> bytes:
    return _INDEX_VALUE.pack(priority, ready_at)


def in_flight_value(priority: int, ready_at: int, dequeued_at: int) -> bytes:
    """The ``I`` value of an ``in_flight`` entry."""
    return _IN_FLIGHT_VALUE.pack(priority, ready_at, dequeued_at)


def parse_index_value(value: bytes) -> tuple:
    """``(priority, ready_at)`` of an ``I`` value, ``in_flight`` ones included."""
    if len(value) == _IN_FLIGHT_VALUE.size:
        return _IN_FLIGHT_VALUE.unpack(value)[:2]
    return _INDEX_VALUE.unpack(value)


def parse_in_flight_value(value: bytes) -> tuple:
    """``(priority, ready_at, dequeued_at)`` of an ``in_flight`` entry's value;
    ``dequeued_at`` is None in an entry of the previous format."""
    if len(value) == _IN_FLIGHT_VALUE.size:
        return _IN_FLIGHT_VALUE.unpack(value)
    return _INDEX_VALUE.unpack(value) + (None,)


def error_prefix(job_id: str) -> bytes:
    return ERROR_TAG + job_id.encode()


def error_key(job_id: str, attempt: int) -> bytes:
    return ERROR_TAG + job_id.encode() + _U32.pack(attempt)


def purge_key(purge_at: int, job_id: str) -> bytes:
    return PURGE_TAG + _U64.pack(purge_at) + job_id.encode()


def parse_purge_key(key: bytes) -> tuple:
    """``(purge_at, id)`` of a ``P`` key."""
    return _U64.unpack_from(key, 1)[0], key[9:].decode()


def holder_key(unique_key: str) -> bytes:
    return UNIQUE_TAG + unique_key.encode()


def holder_value(job_id: str, scope: str) -> bytes:
    return job_id.encode() + UNIQUE_SCOPE_BYTES[scope]


def purge_bound(now_ms: int) -> bytes:
    """The first ``P`` key strictly after every key with ``purge_at <= now``."""
    return PURGE_TAG + _U64.pack(now_ms + 1)


# -- records ------------------------------------------------------------------


def encode_job(job: Job) -> bytes:
    return _packb(
        (
            job.type,
            job.queue,
            job.priority,
            job.status,
            job.ready_at,
            job.attempts,
            job.retry_limit,
            job.backoff,
            job.dequeued_at,
            job.failed_at,
            job.retention,
            job.purge_at,
            job.completed_at,
            job.unique_key,
            job.unique_while,
            job.batch,
            job.payload,
        )
    )


def decode_job(job_id: str, data: bytes) -> Job:
    f = msgpack.unpackb(data, use_list=False, raw=False)
    return Job(
        job_id,
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        None if f[7] is None else Backoff(*f[7]),
        f[8],
        f[9],
        None if f[10] is None else Retention(*f[10]),
        f[11],
        f[12],
        f[13],
        f[14],
        None if f[15] is None else Batch(*f[15]),
        f[16],
    )


def encode_error(record: ErrorRecord) -> bytes:
    return _packb(tuple(record))


def decode_error(data: bytes) -> ErrorRecord:
    return ErrorRecord(*msgpack.unpackb(data, use_list=False, raw=False))


# -- rendering ----------------------------------------------------------------


def job_dict(job: Job, with_payload: bool, payload=None) -> dict:
    """The job as an ordered dict in the spec's field order (API.md 3.1).

    ``payload`` is what goes under the ``payload`` key: an ``orjson.Fragment``
    for JSON (spliced in without re-parsing) or the decoded value for
    MessagePack.
    """
    d = {
        "id": job.id,
        "type": job.type,
        "queue": job.queue,
        "priority": job.priority,
        "status": STATUS_NAMES[job.status],
    }
    if with_payload:
        d["payload"] = payload
    d["ready_at"] = job.ready_at
    d["attempts"] = job.attempts
    if job.retry_limit is not None:
        d["retry_limit"] = job.retry_limit
    if job.backoff is not None:
        b = job.backoff
        d["backoff"] = {"exponent": b[0], "base_ms": b[1], "jitter_ms": b[2]}
    if job.dequeued_at is not None:
        d["dequeued_at"] = job.dequeued_at
    if job.failed_at is not None:
        d["failed_at"] = job.failed_at
    if job.retention is not None:
        r = job.retention
        ret = {}
        if r[0] is not None:
            ret["completed_ms"] = r[0]
        if r[1] is not None:
            ret["dead_ms"] = r[1]
        d["retention"] = ret
    if job.purge_at is not None:
        d["purge_at"] = job.purge_at
    if job.completed_at is not None:
        d["completed_at"] = job.completed_at
    if job.unique_key is not None:
        d["unique_key"] = job.unique_key
        d["unique_while"] = job.unique_while
    return d


def _with_batch(d: dict, job: Job) -> dict:
    if job.batch is not None:
        b = job.batch
        d["batch"] = {"key": b[0], "when": b[1], "fold": b[2]}
    return d


def job_to_json(job: Job, with_payload: bool) -> bytes:
    """Compact JSON of a job, payload bytes spliced in verbatim."""
    d = job_dict(job, with_payload, _Fragment(job.payload) if with_payload else None)
    return _dumps(_with_batch(d, job))


def job_to_obj(job: Job, with_payload: bool) -> dict:
    """The job as plain Python objects (for MessagePack)."""
    d = job_dict(job, with_payload, orjson.loads(job.payload) if with_payload else None)
    return _with_batch(d, job)


def enqueued_to_obj(job: Job, duplicate: bool, folded: bool) -> dict:
    """An enqueue confirmation: no payload, ``duplicate``/``folded`` always."""
    d = job_dict(job, False)
    d["duplicate"] = duplicate
    d["folded"] = folded
    return _with_batch(d, job)


def enqueued_to_json(job: Job, duplicate: bool, folded: bool) -> bytes:
    """``enqueued_to_obj`` as compact JSON."""
    return _dumps(enqueued_to_obj(job, duplicate, folded))


def bulk_enqueued_to_json(jobs, duplicates=None) -> bytes:
    """A bulk enqueue's answer, ``{"jobs": [...]}``, as compact JSON: new
    jobs, or with ``duplicates`` (a bool a job) flagged as a unique enqueue's."""
    if duplicates is None:
        duplicates = [False] * len(jobs)
    confirmations = map(enqueued_to_obj, jobs, duplicates, [False] * len(jobs))
    return _dumps({"jobs": list(confirmations)})


def error_to_obj(record: ErrorRecord) -> dict:
    d = {"attempt": record.attempt, "message": record.message}
    if record.error_type is not None:
        d["error_type"] = record.error_type
    if record.backtrace is not None:
        d["backtrace"] = record.backtrace
    if record.dequeued_at is not None:
        d["dequeued_at"] = record.dequeued_at
    d["failed_at"] = record.failed_at
    return d


# -- enqueue ---------------------------------------------------------------------

_NOT_PLAIN = object()
_UNSET_OPTIONS = ("backoff", "retention", "batch")


def plain_enqueue_request(obj):
    """The ``EnqueueRequest`` for a job-parameters map of the plain shape, or None.

    Plain: a dict whose ``type`` and ``queue`` are valid names, with a
    ``payload`` that is a JSON value, ``priority``/``ready_at``/``retry_limit``
    absent, null or in range, ``unique_key`` absent, null or a string (with
    ``unique_while`` absent, null or one of the three scopes; never without
    a key), and every other option absent or null. Nearly every enqueue
    looks like that; for anything else the adapter's full decoder answers,
    with its exact error messages. So this accepts only what the full
    decoder accepts, and builds the same request from it. A unique key is
    a pro feature: the caller checks the licence (``keyed``).
    """
    if type(obj) is not dict or "payload" not in obj:
        return None
    job_type = obj.get("type")
    queue = obj.get("queue")
    if type(job_type) is not str or names.problem("type", job_type) is not None:
        return None
    if type(queue) is not str or names.problem("queue", queue) is not None:
        return None
    for name in _UNSET_OPTIONS:
        if obj.get(name) is not None:
            return None
    unique_key, unique_while = obj.get("unique_key"), obj.get("unique_while")
    if not _plain_unique(unique_key, unique_while):
        return None
    priority = _plain_int(obj.get("priority"), MAX_PRIORITY)
    ready_at = _plain_int(obj.get("ready_at"), MAX_U64)
    retry_limit = _plain_int(obj.get("retry_limit"), MAX_U32)
    if _NOT_PLAIN in (priority, ready_at, retry_limit):
        return None
    try:
        payload = _dumps(obj["payload"])
    except TypeError:  # not a JSON value (orjson's error is a TypeError)
        return None
    if priority is None:
        priority = DEFAULT_PRIORITY
    return EnqueueRequest(
        job_type,
        queue,
        payload,
        priority,
        ready_at,
        retry_limit,
        unique_key=unique_key,
        unique_while=unique_while,
    )


def _plain_unique(unique_key, unique_while) -> bool:
    """No key and no scope, or a ``str`` key with no scope or a valid one."""
    if unique_key is None:
        return unique_while is None
    return type(unique_key) is str and (
        unique_while is None
        or (type(unique_while) is str and unique_while in UNIQUE_SCOPES)
    )


def keyed(requests) -> bool:
    """Whether any enqueue request carries a unique key."""
    for request in requests:
        if request.unique_key is not None:
            return True
    return False


def _plain_int(value, maximum: int):
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= maximum:
        return _NOT_PLAIN
    return value


def new_job(request: EnqueueRequest, job_id: str, status: int, ready_at: int) -> Job:
    """The job an enqueue request becomes, before it has been attempted."""
    return Job(
        job_id,
        request.type,
        request.queue,
        request.priority,
        status,
        ready_at,
        retry_limit=request.retry_limit,
        backoff=request.backoff,
        retention=request.retention,
        unique_key=request.unique_key,
        unique_while=request.unique_while,
        batch=request.batch,
        payload=request.payload,
    )


def plain_bulk_requests(body):
    """The requests of a JSON bulk-enqueue body (``{"jobs": [...]}``) whose
    every job is of the plain shape (``plain_enqueue_request``), or None:
    the caller then decodes the body in full, which answers any error.

    The compiled twin reads the bytes without building the body's objects,
    and leaves a field given twice to this reference, which leaves it to the
    full decoder: a repeated field is refused (``queue_core.duplicates``),
    where orjson would keep the last.
    """
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if duplicate_field(body) is not None:
        return None
    items = obj.get("jobs") if type(obj) is dict else None
    if type(items) is not list:
        return None
    requests = [plain_enqueue_request(item) for item in items]
    return None if None in requests else requests


def new_jobs(requests, now_ms: int, new_id) -> list:
    """The jobs an enqueue's requests become, in order, ids from ``new_id()``.

    A request without ``ready_at`` is ready now; one due later is scheduled.
    """
    jobs = []
    for request in requests:
        ready_at = now_ms if request.ready_at is None else request.ready_at
        status = SCHEDULED if ready_at > now_ms else READY
        jobs.append(new_job(request, new_id(), status, ready_at))
    return jobs


def put_new_jobs(jobs, writes: dict, counts: dict) -> None:
    """File never-stored ``jobs``: each one's record, then each one's index
    entry, go into ``writes`` (key -> value), and each job adds one to
    ``counts[(queue, status)]``.

    Grouped by kind, the keys come as two ascending runs when a bulk's ids
    do: sorting the turn's batch (keyspace) then merges runs, ~3x faster
    than sorting record and index keys interleaved.
    """
    for job in jobs:
        writes[job_key(job.id)] = encode_job(job)
    for job in jobs:
        writes[index_key(job.status, job.queue, job.id)] = index_value(
            job.priority, job.ready_at
        )
    for job in jobs:  # once every entry is written, so an error counts none
        key = (job.queue, job.status)
        counts[key] = counts.get(key, 0) + 1


# -- unique keys -------------------------------------------------------------------


def plan_unique(requests, held: dict, holder) -> tuple:
    """Which requests of an enqueue make new jobs: ``(fresh, outcomes)``.

    ``held`` maps each held key to its holder's id; ``holder(holder_id,
    request)`` is that holder when ``request`` is its duplicate, else None.
    A later request with the key of an earlier one in the same call is that
    one's duplicate whatever its scope (API.md 7.2.3). With no duplicate,
    ``outcomes`` is None and ``fresh`` is ``requests`` itself (a sequence);
    else ``outcomes`` has an entry a request: ``i >= 0``, the new job of
    ``fresh[i]``; ``~i``, a repeat of that one; or the holder it duplicates.
    """
    fresh, outcomes = requests, None
    first = {}  # key -> outcome of its first request in this call
    for i, request in enumerate(requests):
        duplicate = _duplicate(request, first, held, holder)
        if duplicate is not None:
            if outcomes is None:
                fresh, outcomes = list(requests[:i]), list(range(i))
            outcomes.append(duplicate)
            continue
        index = i
        if outcomes is not None:
            index = len(fresh)
            fresh.append(request)
            outcomes.append(index)
        if request.unique_key is not None:
            first[request.unique_key] = index
    return fresh, outcomes


def _duplicate(request, first: dict, held: dict, holder):
    """What ``request`` duplicates, as an outcome (``~i`` or a holder), or None."""
    unique_key = request.unique_key
    if unique_key is None:
        return None
    outcome = first.get(unique_key)
    if outcome is not None:
        return ~outcome if type(outcome) is int else outcome
    holder_id = held.get(unique_key)
    if holder_id is None:
        return None
    job = holder(holder_id, request)
    if job is not None:
        first[unique_key] = job
    return job


def claim_unique(jobs, held: dict, writes: dict) -> None:
    """Each new keyed job of ``jobs`` becomes its key's holder: ``held[key]``
    is its id, and its ``U`` entry goes into ``writes``. An omitted scope
    becomes ``queued`` first, so the job is stored with it."""
    for job in jobs:
        unique_key = job.unique_key
        if unique_key is not None:
            if job.unique_while is None:
                job.unique_while = DEFAULT_UNIQUE_WHILE
            held[unique_key] = job.id
            writes[holder_key(unique_key)] = holder_value(job.id, job.unique_while)


def unique_results(outcomes: list, jobs: list) -> tuple:
    """``(results, duplicates)`` of a ``plan_unique`` with duplicates, once
    ``jobs`` are the new jobs of its ``fresh``: every request's job in input
    order, and a bool a request, True for a duplicate."""
    results, duplicates = [], []
    for outcome in outcomes:
        if type(outcome) is not int:
            results.append(outcome)
            duplicates.append(True)
        elif outcome < 0:  # a repeat of a new job of this call
            results.append(jobs[~outcome])
            duplicates.append(True)
        else:
            results.append(jobs[outcome])
            duplicates.append(False)
    return results, duplicates


# -- ids -----------------------------------------------------------------------

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]  # 1296 two-digit chunks
_SPLIT = 36**12


def _base36_12(n: int) -> str:
    """Render ``0 <= n < 36**12`` as exactly 12 base-36 digits."""
    out = []
    for _ in range(6):
        n, r = divmod(n, 1296)
        out.append(_PAIRS[r])
    out.reverse()
    return "".join(out)


def format_id(timestamp: int, counter_hi: int, counter_lo: int, entropy: int) -> str:
    """A SCRU128 id (48-bit ms, two 24-bit counters, 32 bits of entropy) as
    its canonical 25 lowercase base-36 characters."""
    value = (timestamp << 80) | (counter_hi << 56) | (counter_lo << 32) | entropy
    rest, low = divmod(value, _SPLIT)
    top, high = divmod(rest, _SPLIT)
    return _DIGITS[top] + _base36_12(high) + _base36_12(low)


_MAX_COUNTER = 0xFFFFFF


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class IdGenerator:
    """Monotonic SCRU128 generator: ids strictly increase within a process.

    The timestamp is the wall clock in milliseconds; ``counter_lo`` (and,
    once a second, ``counter_hi``) restart from random values when it
    moves, and count up within one millisecond. ``clock_ms`` and
    ``getrandbits`` are injectable so that both twins can be driven alike.
    """

    def __init__(self, clock_ms=None, getrandbits=None) -> None:
        self._clock_ms = clock_ms or _wall_clock_ms
        # Ids need uniqueness, not secrecy: a seeded Mersenne Twister is
        # ~20x cheaper than os.urandom per call and is what SCRU128 allows.
        self._getrandbits = getrandbits or random.Random().getrandbits
        self._timestamp = 0
        self._counter_hi = 0
        self._counter_lo = 0
        self._ts_counter_hi = 0

    def new_id(self) -> str:
        ts = self._clock_ms()
        if ts > self._timestamp:
            self._timestamp = ts
            self._counter_lo = self._getrandbits(24)
            if ts - self._ts_counter_hi >= 1000:
                self._ts_counter_hi = ts
                self._counter_hi = self._getrandbits(24)
        else:
            self._bump_counter()
        return format_id(
            self._timestamp, self._counter_hi, self._counter_lo, self._getrandbits(32)
        )

    def _bump_counter(self) -> None:
        self._counter_lo += 1
        if self._counter_lo > _MAX_COUNTER:
            self._counter_lo = 0
            self._counter_hi += 1
            if self._counter_hi > _MAX_COUNTER:
                # Counter space for this millisecond is exhausted: borrow the
                # next millisecond so ids stay strictly increasing.
                self._counter_hi = 0
                self._timestamp += 1
