"""Job codec: both twins, and compiled against reference byte for byte.

Hypothesis builds jobs over the whole validated domain (any unicode queue
and type names, every optional field set or unset, u64 timestamps, payloads
that are orjson dumps of random JSON values) and requires identical bytes
and identical dicts, key order included, from ``_cy`` and ``_py``. Inputs
outside the domain must behave identically too: the compiled module hands
them to the reference, so results and exceptions match.
"""

import random

import msgpack
import orjson
import pytest
import scru128
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_core.codec import _py
from queue_core.defaults import DEFAULT_PRIORITY, MAX_PRIORITY, MAX_U32, MAX_U64
from queue_core.options import EnqueueRequest
from queue_core.types import (
    STATUS_NAMES,
    UNIQUE_SCOPES,
    Backoff,
    Batch,
    ErrorRecord,
    Job,
    Retention,
)

BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
JOB_ID = st.text(alphabet=BASE36, min_size=25, max_size=25)
NAME = st.text(min_size=1, max_size=40)
U32 = st.integers(0, MAX_U32)
U64 = st.integers(0, MAX_U64)
OPT_U32 = st.none() | U32
OPT_U64 = st.none() | U64
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), MAX_U64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
JOBS = st.builds(
    Job,
    id=JOB_ID,
    type=NAME,
    queue=NAME,
    priority=st.integers(0, MAX_PRIORITY),
    status=st.integers(0, len(STATUS_NAMES) - 1),
    ready_at=U64,
    attempts=U32,
    retry_limit=OPT_U32,
    backoff=st.none() | st.builds(Backoff, st.floats() | st.integers(0, 10), U32, U32),
    dequeued_at=OPT_U64,
    failed_at=OPT_U64,
    retention=st.none() | st.builds(Retention, OPT_U64, OPT_U64),
    purge_at=OPT_U64,
    completed_at=OPT_U64,
    unique_key=st.none() | NAME,
    unique_while=st.none() | st.sampled_from(UNIQUE_SCOPES),
    batch=st.none() | st.builds(Batch, NAME, NAME, NAME),
    payload=JSON_VALUE.map(orjson.dumps),
)
ERRORS = st.builds(
    ErrorRecord,
    attempt=U32,
    message=st.text(),
    error_type=st.none() | st.text(),
    backtrace=st.none() | st.text(),
    dequeued_at=OPT_U64,
    failed_at=U64,
)
TWINS = settings(max_examples=300, deadline=None)


def _fields(job) -> list:
    """Every slot by ``repr``: tells 4 from 4.0, a tuple from a Backoff."""
    return [repr(getattr(job, name)) for name in Job.__slots__]


def _pairs(value):
    """Dicts as item lists, recursively, so comparisons see key order."""
    if isinstance(value, dict):
        return [(k, _pairs(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_pairs(v) for v in value]
    return value


def _outcome(fn, *args):
    """What a call did: its value, or the type and text of its exception."""
    try:
        return "returned", fn(*args)
    except Exception as exc:
        return "raised", type(exc), str(exc)


def _job(**fields) -> Job:
    base = dict(id="0" * 25, type="t", queue="q", priority=1, status=1, ready_at=5)
    base.update(fields)
    return Job(**base)


# -- records ------------------------------------------------------------------


@TWINS
@given(job=JOBS)
def test_codec_twins_encode_job_identically(cy_codec, job):
    assert cy_codec.encode_job(job) == _py.encode_job(job)


@TWINS
@given(job=JOBS)
def test_codec_decode_job_round_trips(codec_impl, job):
    """decode(encode(job)) restores every field, types and named tuples too."""
    data = codec_impl.encode_job(job)
    assert _fields(codec_impl.decode_job(job.id, data)) == _fields(job)


@TWINS
@given(job=JOBS)
def test_codec_twins_decode_job_identically(cy_codec, job):
    data = _py.encode_job(job)
    assert _fields(cy_codec.decode_job(job.id, data)) == _fields(
        _py.decode_job(job.id, data)
    )


@TWINS
@given(record=ERRORS)
def test_codec_twins_agree_on_error_records(cy_codec, record):
    data = _py.encode_error(record)
    assert cy_codec.encode_error(record) == data
    assert repr(cy_codec.decode_error(data)) == repr(record)
    assert _pairs(cy_codec.error_to_obj(record)) == _pairs(_py.error_to_obj(record))


# -- rendering ----------------------------------------------------------------


@TWINS
@given(job=JOBS, with_payload=st.booleans())
def test_codec_twins_render_json_identically(cy_codec, job, with_payload):
    assert cy_codec.job_to_json(job, with_payload) == _py.job_to_json(job, with_payload)


@TWINS
@given(
    job=JOBS, with_payload=st.booleans(), flags=st.tuples(st.booleans(), st.booleans())
)
def test_codec_twins_render_dicts_identically(cy_codec, job, with_payload, flags):
    assert _pairs(cy_codec.job_to_obj(job, with_payload)) == _pairs(
        _py.job_to_obj(job, with_payload)
    )
    assert _pairs(cy_codec.enqueued_to_obj(job, *flags)) == _pairs(
        _py.enqueued_to_obj(job, *flags)
    )
    assert _pairs(cy_codec.job_dict(job, with_payload, "p")) == _pairs(
        _py.job_dict(job, with_payload, "p")
    )


@TWINS
@given(job=JOBS, duplicate=st.booleans(), folded=st.booleans())
def test_enqueued_to_json_is_the_confirmation_dict_as_json(codec_impl, job, duplicate, folded):
    expected = orjson.dumps(_py.enqueued_to_obj(job, duplicate, folded))
    assert codec_impl.enqueued_to_json(job, duplicate, folded) == expected


def test_job_to_json_matches_orjson_for_strings_and_numbers(codec_impl):
    """Escapes, raw non-ASCII, u64 ints and float spelling are orjson's."""
    name = "".join(map(chr, range(32))) + '"\\/\x7fé\u2028\U0001f600'
    job = _job(
        type=name,
        ready_at=MAX_U64,
        backoff=Backoff(1.5, 100, 0),
        retention=Retention(None, 0),
        batch=Batch("k", "w", "f"),
        payload=b'{"a": [1, 2]}',
    )
    expected = orjson.dumps(
        {
            "id": job.id,
            "type": name,
            "queue": "q",
            "priority": 1,
            "status": "ready",
            "payload": {"a": [1, 2]},
            "ready_at": MAX_U64,
            "attempts": 0,
            "backoff": {"exponent": 1.5, "base_ms": 100, "jitter_ms": 0},
            "retention": {"dead_ms": 0},
            "batch": {"key": "k", "when": "w", "fold": "f"},
        }
    ).replace(b'{"a":[1,2]}', b'{"a": [1, 2]}')
    assert codec_impl.job_to_json(job, True) == expected
    for exponent, text in [(4.0, b"4.0"), (2, b"2"), (1e-7, b"1e-7"), (1e16, b"1e+16")]:
        job.backoff = Backoff(exponent, 1, 2)
        assert b'"exponent":' + text + b"," in codec_impl.job_to_json(job, False)


# -- keys ---------------------------------------------------------------------


@TWINS
@given(
    status=st.integers(0, 255),
    queue=NAME,
    job_id=JOB_ID,
    priority=st.integers(0, MAX_PRIORITY),
    at=U64,
    attempt=U32,
)
def test_codec_twins_build_and_parse_keys_identically(
    cy_codec, status, queue, job_id, priority, at, attempt
):
    for name, args in [
        ("job_key", (job_id,)),
        ("index_prefix", (status, queue)),
        ("index_key", (status, queue, job_id)),
        ("index_value", (priority, at)),
        ("in_flight_value", (priority, at, attempt)),
        ("error_prefix", (job_id,)),
        ("error_key", (job_id, attempt)),
        ("purge_key", (at, job_id)),
        ("purge_bound", (min(at, MAX_U64 - 1),)),
    ]:
        assert getattr(cy_codec, name)(*args) == getattr(_py, name)(*args), name
    key = _py.index_key(status, queue, job_id)
    assert cy_codec.parse_index_key(key) == (status, queue, job_id)
    value = _py.index_value(priority, at)
    assert cy_codec.parse_index_value(value) == (priority, at)
    assert cy_codec.parse_in_flight_value(value) == (priority, at, None)
    value = _py.in_flight_value(priority, at, attempt)
    assert cy_codec.parse_index_value(value) == (priority, at)
    assert cy_codec.parse_in_flight_value(value) == (priority, at, attempt)
    assert cy_codec.parse_purge_key(_py.purge_key(at, job_id)) == (at, job_id)


def test_codec_keys_sort_like_their_fields(codec_impl):
    assert codec_impl.purge_key(1, "z" * 25) < codec_impl.purge_key(256, "0" * 25)
    assert codec_impl.purge_key(MAX_U64 - 1, "z" * 25) < codec_impl.purge_bound(
        MAX_U64 - 1
    )
    assert codec_impl.index_key(1, "a", "z" * 25) < codec_impl.index_key(
        1, "ab", "0" * 25
    )


# -- outside the domain: the compiled twin defers to the reference ------------


class _JobSubclass(Job):
    """Serves ``queue`` from a property: slot offsets would miss it."""

    __slots__ = ()
    queue = property(lambda self: "overridden", lambda self, value: None)


def _unset_job() -> Job:
    job = Job.__new__(Job)
    job.id = "0" * 25
    return job


ODD_JOBS = [
    _job(priority=True),
    _job(ready_at=MAX_U64 + 1),
    _job(ready_at=-(2**63) - 1),
    _job(ready_at=-1),
    _job(queue="\ud800"),
    _job(status=7),
    _job(status=-1),
    _job(payload="not bytes"),
    _job(payload=bytearray(b"[]")),
    _job(backoff=[2.0, 1, 2]),
    _job(backoff=(2.0, 1)),
    _job(retention=(1, 2, 3)),
    _job(batch=("k", "w")),
    _job(unique_key="u", unique_while=None),
    _job(type=3.5),
    _JobSubclass(id="0" * 25, type="t", queue="q", priority=1, status=1, ready_at=5),
    _unset_job(),
]


@pytest.mark.parametrize("job", ODD_JOBS, ids=range(len(ODD_JOBS)))
def test_codec_twins_agree_outside_the_domain(cy_codec, job):
    for name in ["encode_job", "job_to_json", "job_to_obj", "job_dict"]:
        args = (job,) if name == "encode_job" else (job, True)
        cy, py = (
            _outcome(getattr(cy_codec, name), *args),
            _outcome(getattr(_py, name), *args),
        )
        assert _pairs(cy) == _pairs(py), name
    assert _outcome(cy_codec.enqueued_to_obj, job, 1, 0) == _outcome(
        _py.enqueued_to_obj, job, 1, 0
    )
    jobs = [_job(), job]
    cy, py = (
        _outcome(cy_codec.bulk_enqueued_to_json, jobs),
        _outcome(_py.bulk_enqueued_to_json, jobs),
    )
    assert cy == py
    assert _filed(cy_codec, jobs) == _filed(_py, jobs)


def _filed(twin, jobs):
    """What ``put_new_jobs`` leaves (or raises), writes in order."""
    writes, counts = {}, {(job.queue, job.status): 1 for job in jobs[:1]}
    outcome = _outcome(twin.put_new_jobs, jobs, writes, counts)
    return outcome, list(writes.items()), counts


GOOD_RECORD = _py.encode_job(_job())
ODD_RECORDS = [
    GOOD_RECORD[:-1],
    GOOD_RECORD + b"\x00",
    b"\xdd\x00\x00\x00\x11" + GOOD_RECORD[3:],
    msgpack.packb((1, 2, 3)),
    msgpack.packb({"type": "t"}),
    GOOD_RECORD.replace(b"\xa1t", b"\xa1\xff"),
    GOOD_RECORD.replace(b"\xa1t", b"\xca\x00\x00\x00\x00"),
    _py.encode_job(_job(backoff=(1, 2))),
    _py.encode_job(_job(retention=(1, 2, 3))),
    bytearray(GOOD_RECORD),
    b"",
]


@pytest.mark.parametrize("data", ODD_RECORDS, ids=range(len(ODD_RECORDS)))
def test_codec_twins_decode_odd_records_identically(cy_codec, data):
    cy = _outcome(cy_codec.decode_job, "0" * 25, data)
    py = _outcome(_py.decode_job, "0" * 25, data)
    if cy[0] == "returned" and py[0] == "returned":
        assert _fields(cy[1]) == _fields(py[1])
    else:
        assert cy == py
    assert _outcome(cy_codec.decode_error, data) == _outcome(_py.decode_error, data)


@pytest.mark.parametrize(
    "name, args",
    [
        ("job_key", (b"bytes",)),
        ("job_key", (None,)),
        ("index_prefix", (1, None)),
        ("index_key", (1, None, "0" * 25)),
        ("index_key", (1, "q", None)),
        ("purge_key", (5, None)),
        ("job_key", ("é",)),
        ("index_key", (256, "q", "0" * 25)),
        ("index_key", (-1, "q", "0" * 25)),
        ("index_key", (1, "\ud800", "0" * 25)),
        ("index_prefix", (True, "q")),
        ("index_value", (MAX_PRIORITY + 1, 0)),
        ("index_value", (0, MAX_U64 + 1)),
        ("error_key", ("0" * 25, MAX_U32 + 1)),
        ("purge_key", (-1, "0" * 25)),
        ("purge_bound", (-1,)),
        ("purge_bound", (-2,)),
        ("purge_bound", (MAX_U64,)),
        ("parse_index_key", (b"I\x01q\x00",)),
        ("parse_index_key", (bytearray(b"I\x01q\x00" + b"0" * 25),)),
        ("parse_index_value", (b"\x00" * 9,)),
        ("parse_index_value", (b"\x00" * 11,)),
        ("parse_index_value", (bytearray(18),)),
        ("parse_in_flight_value", (b"\x00" * 17,)),
        ("parse_in_flight_value", (bytearray(18),)),
        ("in_flight_value", (0, 0, None)),
        ("in_flight_value", (0, 0, MAX_U64 + 1)),
        ("in_flight_value", (MAX_PRIORITY + 1, 0, 0)),
        ("parse_purge_key", (b"P\x00",)),
        ("encode_error", ([1, "m", None, None, None, 2],)),
        ("error_to_obj", ((1, "m", None, None, None, 2),)),
    ],
)
def test_codec_twins_agree_on_odd_key_arguments(cy_codec, name, args):
    assert _outcome(getattr(cy_codec, name), *args) == _outcome(
        getattr(_py, name), *args
    )


# -- enqueue ------------------------------------------------------------------

# Job-parameter maps as a decoder sees them: the keys the API knows with
# values that are right, wrong in every way the full decoder reports (bad
# names, out-of-range or boolean or float numbers, strings for numbers,
# MessagePack bytes, integers orjson cannot write), or absent.
PLAIN_NAME = st.sampled_from(["bench", "emails", "a.b:c-d", "é", "q" * 300])
BAD_NAME = st.sampled_from(["", "a,b", "a\0b", "a*", "?", "[x]", "{", "}", "a\\b", "ü*"])
ODD_VALUE = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.binary(max_size=4)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
EDGE_INTS = [MAX_PRIORITY, MAX_PRIORITY + 1, MAX_U32, MAX_U32 + 1, MAX_U64, MAX_U64 + 1]
NUMBER = st.none() | st.integers(-2, 3) | st.sampled_from(EDGE_INTS) | ODD_VALUE
PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "type": PLAIN_NAME | BAD_NAME | ODD_VALUE,
        "queue": PLAIN_NAME | BAD_NAME | ODD_VALUE,
        "payload": JSON_VALUE | ODD_VALUE | st.just(2**64),
        "priority": NUMBER,
        "ready_at": NUMBER,
        "retry_limit": NUMBER,
        "backoff": st.none() | ODD_VALUE,
        "retention": st.none() | ODD_VALUE,
        "unique_key": st.none() | PLAIN_NAME,
        "unique_while": st.none() | st.sampled_from(UNIQUE_SCOPES),
        "batch": st.none() | ODD_VALUE,
        "other": ODD_VALUE,
    },
)
# ... and valid maps with one field changed to something at or beyond an
# edge, so that the fast path's every check meets both of its sides.
VALID_PARAMS = st.fixed_dictionaries(
    {"type": PLAIN_NAME, "queue": PLAIN_NAME, "payload": JSON_VALUE},
    optional={
        "priority": st.integers(0, MAX_PRIORITY),
        "ready_at": U64,
        "retry_limit": U32,
        "backoff": st.none(),
        "unique_key": st.none() | PLAIN_NAME,
    },
)
EDGES = {
    "type": PLAIN_NAME | BAD_NAME | ODD_VALUE,
    "queue": PLAIN_NAME | BAD_NAME | ODD_VALUE,
    "payload": ODD_VALUE | st.sampled_from([2**64, -(2**63) - 1, b"x"]),
    "priority": st.sampled_from([None, -1, 0, MAX_PRIORITY, MAX_PRIORITY + 1, True, 1.0, "1"]),
    "ready_at": st.sampled_from([None, -1, 0, MAX_U64, MAX_U64 + 1, False, 2.5, [1]]),
    "retry_limit": st.sampled_from([None, -1, 0, MAX_U32, MAX_U32 + 1, True, {}]),
    "backoff": ODD_VALUE,
    "retention": ODD_VALUE,
    "unique_key": st.none() | PLAIN_NAME | ODD_VALUE,
    "unique_while": st.none() | st.sampled_from(UNIQUE_SCOPES) | ODD_VALUE,
    "batch": ODD_VALUE,
}
ONE_OFF = st.builds(
    lambda base, change: {**base, **change},
    VALID_PARAMS,
    st.sampled_from(sorted(EDGES)).flatmap(lambda k: EDGES[k].map(lambda v: {k: v})),
)
JOB_PARAMS = PARAMS | ONE_OFF | VALID_PARAMS | ODD_VALUE
REQUESTS = st.builds(
    EnqueueRequest,
    type=NAME,
    queue=NAME,
    payload=JSON_VALUE.map(orjson.dumps),
    priority=st.integers(0, MAX_PRIORITY),
    ready_at=OPT_U64,
    retry_limit=OPT_U32,
    backoff=st.none() | st.builds(Backoff, st.floats() | st.integers(0, 10), U32, U32),
    retention=st.none() | st.builds(Retention, OPT_U64, OPT_U64),
    unique_key=st.none() | NAME,
    unique_while=st.none() | st.sampled_from(UNIQUE_SCOPES),
    batch=st.none() | st.builds(Batch, NAME, NAME, NAME),
)


@TWINS
@given(obj=JOB_PARAMS)
def test_codec_twins_read_plain_enqueue_requests_identically(cy_codec, obj):
    compiled = _outcome(cy_codec.plain_enqueue_request, obj)
    reference = _outcome(_py.plain_enqueue_request, obj)
    assert repr(compiled) == repr(reference)


def test_plain_enqueue_request_takes_the_common_shapes(codec_impl):
    payload = {"to": "a@example.com", "n": [1, 2.5, None]}
    plain = codec_impl.plain_enqueue_request
    assert plain({"type": "send", "queue": "emails", "payload": payload}) == EnqueueRequest(
        "send", "emails", orjson.dumps(payload), DEFAULT_PRIORITY
    )
    full = {"type": "t", "queue": "q", "payload": None, "priority": 0,
            "ready_at": MAX_U64, "retry_limit": MAX_U32, "backoff": None}
    assert plain(full) == EnqueueRequest("t", "q", b"null", 0, MAX_U64, MAX_U32)
    # Null options and unknown keys are ignored, with or without null fields.
    nulls = {"type": "t", "queue": "q", "payload": 1, "priority": None,
             "retry_limit": None, "retention": None, "batch": None, "x": [1]}
    assert plain(nulls) == EnqueueRequest("t", "q", b"1", DEFAULT_PRIORITY)
    # A unique key with a valid scope (or none) is plain; its licence is the
    # caller's to check.
    for scope in (None, "queued", "active", "exists"):
        keyed = {"type": "t", "queue": "q", "payload": 1, "unique_key": "",
                 "unique_while": scope}
        assert plain(keyed) == EnqueueRequest(
            "t", "q", b"1", DEFAULT_PRIORITY, unique_key="", unique_while=scope
        )
    # Anything the full decoder must see (and answer) is left to it.
    for odd in [
        {"type": "t", "queue": "q"},
        {"type": "t", "queue": "a,b", "payload": 1},
        {"type": "t", "queue": "q", "payload": 1, "priority": True},
        {"type": "t", "queue": "q", "payload": 1, "priority": MAX_PRIORITY + 1},
        {"type": "t", "queue": "q", "payload": 1, "unique_while": "queued"},
        {"type": "t", "queue": "q", "payload": 1, "unique_key": "k", "unique_while": "x"},
        {"type": "t", "queue": "q", "payload": 1, "unique_key": 1},
        {"type": "t", "queue": "q", "payload": 1, "unique_key": "k", "batch": {}},
        {"type": "t", "queue": "q", "payload": 1, "priority": None, "backoff": {}},
        {"type": "t", "queue": "q", "payload": b"raw"},
        ["t", "q", 1],
    ]:
        assert plain(odd) is None, odd


@TWINS
@given(request=REQUESTS, job_id=JOB_ID, status=st.sampled_from([0, 1]), ready_at=U64)
def test_codec_twins_make_new_jobs_identically(cy_codec, request, job_id, status, ready_at):
    compiled = cy_codec.new_job(request, job_id, status, ready_at)
    reference = _py.new_job(request, job_id, status, ready_at)
    assert type(compiled) is Job
    assert _fields(compiled) == _fields(reference)
    assert reference.attempts == 0 and reference.payload == request.payload


def _counting_ids():
    """A ``new_id`` giving 25-digit ids 0, 1, 2, ..."""
    counter = iter(range(10**9))
    return lambda: f"{next(counter):025d}"


@TWINS
@given(requests=st.lists(REQUESTS, max_size=5))
def test_codec_twins_tell_keyed_requests_identically(cy_codec, requests):
    expected = any(r.unique_key is not None for r in requests)
    assert cy_codec.keyed(requests) is _py.keyed(requests) is expected
    assert cy_codec.keyed(iter(requests)) is expected


@TWINS
@given(requests=st.lists(REQUESTS, max_size=5), now_ms=U64)
def test_codec_twins_turn_requests_into_jobs_identically(cy_codec, requests, now_ms):
    compiled = cy_codec.new_jobs(requests, now_ms, _counting_ids())
    reference = _py.new_jobs(requests, now_ms, _counting_ids())
    assert [_fields(job) for job in compiled] == [_fields(job) for job in reference]
    assert [job.id for job in reference] == [f"{i:025d}" for i in range(len(requests))]


@TWINS
@given(
    requests=st.lists(REQUESTS, max_size=5),
    now_ms=st.integers(0, 2**48 - 10),  # ids hold 48-bit timestamps
    seed=st.integers(0, 99),
)
def test_codec_twins_number_new_jobs_from_their_id_generators_identically(
    cy_codec, requests, now_ms, seed
):
    # A compiled generator's new_id is called directly, not as a method.
    def generator(twin):
        clock = iter(range(now_ms, now_ms + 10))
        return twin.IdGenerator(lambda: next(clock), random.Random(seed).getrandbits)

    compiled = cy_codec.new_jobs(requests, now_ms, generator(cy_codec).new_id)
    reference = _py.new_jobs(requests, now_ms, generator(_py).new_id)
    assert [_fields(job) for job in compiled] == [_fields(job) for job in reference]


def test_new_jobs_schedule_only_what_is_due_later(codec_impl):
    requests = [
        EnqueueRequest("t", "q", b"1", 0, ready_at)
        for ready_at in [None, 9, 10, 11, MAX_U64]
    ]
    jobs = codec_impl.new_jobs(requests, 10, _counting_ids())
    assert [(job.status_name, job.ready_at) for job in jobs] == [
        ("ready", 10), ("ready", 9), ("ready", 10), ("scheduled", 11),
        ("scheduled", MAX_U64),
    ]


@TWINS
@given(jobs=st.lists(JOBS, max_size=4))
def test_put_new_jobs_files_the_records_then_the_index_entries(codec_impl, jobs):
    expected = {_py.job_key(job.id): _py.encode_job(job) for job in jobs}
    counts = {("other", 0): 7}
    expected_counts = dict(counts)
    for job in jobs:
        key = _py.index_key(job.status, job.queue, job.id)
        expected[key] = _py.index_value(job.priority, job.ready_at)
        count_key = (job.queue, job.status)
        expected_counts[count_key] = expected_counts.get(count_key, 0) + 1
    writes = {}
    codec_impl.put_new_jobs(jobs, writes, counts)
    assert list(writes.items()) == list(expected.items())
    assert counts == expected_counts


@TWINS
@given(jobs=st.lists(JOBS, max_size=4))
def test_bulk_enqueued_to_json_lists_the_confirmations(codec_impl, jobs):
    confirmations = [_py.enqueued_to_obj(job, False, False) for job in jobs]
    expected = orjson.dumps({"jobs": confirmations})
    assert codec_impl.bulk_enqueued_to_json(jobs) == expected


@TWINS
@given(job=JOBS, ids=st.lists(JOB_ID, min_size=2, max_size=4), other=JOBS)
def test_bulk_confirmations_of_jobs_alike_but_for_their_ids(
    codec_impl, job, ids, other
):
    # The compiled twin copies what follows the id when all else is shared.
    jobs = [_with(job, id=job_id) for job_id in ids]
    jobs.insert(1, _with(job, id=ids[0], queue=other.queue))
    jobs.append(_with(other, id=ids[-1]))
    confirmations = [_py.enqueued_to_obj(j, False, False) for j in jobs]
    expected = orjson.dumps({"jobs": confirmations})
    assert codec_impl.bulk_enqueued_to_json(jobs) == expected


@TWINS
@given(
    job=JOBS,
    keys=st.lists(
        st.sampled_from(
            [("k", "queued"), ("l", "queued"), ("m", "exists"), (None, None)]
        ),
        min_size=2,
        max_size=6,
    ),
    data=st.data(),
)
def test_bulk_confirmations_with_keys_and_duplicate_flags(codec_impl, job, keys, data):
    # A unique bulk: jobs alike but for id, key, scope and duplicate flag;
    # the compiled twin copies the part before the key, all after the id,
    # or all after the key.
    jobs = [
        _with(job, id=f"{i:025d}", unique_key=key, unique_while=scope)
        for i, (key, scope) in enumerate(keys)
    ]
    flags = data.draw(st.lists(st.booleans(), min_size=len(jobs), max_size=len(jobs)))
    confirmations = [_py.enqueued_to_obj(j, f, False) for j, f in zip(jobs, flags)]
    expected = orjson.dumps({"jobs": confirmations})
    assert codec_impl.bulk_enqueued_to_json(jobs, flags) == expected


def _with(job, **changes):
    """A copy of ``job`` sharing every field object but ``changes``."""
    fields = {name: getattr(job, name) for name in Job.__slots__}
    return Job(**{**fields, **changes})


@given(
    timestamp=st.integers(0, 2**48 - 1),
    counter_hi=st.integers(0, 2**24 - 1),
    counter_lo=st.integers(0, 2**24 - 1),
    entropy=st.integers(0, 2**32 - 1),
)
def test_format_id_is_canonical_scru128(codec_impl, timestamp, counter_hi, counter_lo, entropy):
    text = codec_impl.format_id(timestamp, counter_hi, counter_lo, entropy)
    expected = scru128.Scru128Id.from_fields(timestamp, counter_hi, counter_lo, entropy)
    assert text == str(expected)
    assert len(text) == 25


def test_format_id_extremes(codec_impl):
    assert codec_impl.format_id(0, 0, 0, 0) == "0" * 25
    top = codec_impl.format_id(2**48 - 1, 2**24 - 1, 2**24 - 1, 2**32 - 1)
    assert top == str(scru128.Scru128Id.from_fields(2**48 - 1, 2**24 - 1, 2**24 - 1, 2**32 - 1))
    assert int(top, 36) == 2**128 - 1


def test_generated_ids_increase_strictly(codec_impl):
    from queue_core.ids import id_timestamp_ms, is_valid_id

    generator = codec_impl.IdGenerator()
    ids = [generator.new_id() for _ in range(20_000)]
    assert ids == sorted(set(ids))
    assert all(is_valid_id(i) for i in ids[:100])
    assert id_timestamp_ms(ids[0]) <= id_timestamp_ms(ids[-1])


@TWINS
@given(
    steps=st.lists(st.integers(-3, 1500), min_size=1, max_size=60),
    seed=st.integers(0, 2**32),
    high=st.booleans(),
)
def test_codec_twins_generate_the_same_ids(cy_codec, steps, seed, high):
    """Same clock and randomness, same ids: through clock stalls, clock
    steps backwards, second boundaries and (``high``: counters that start
    near their top) counter overflow into the next millisecond."""
    import random

    def drive(twin):
        ticks = iter(steps)
        now = [1_700_000_000_000]

        def clock_ms():
            now[0] += next(ticks, 0)
            return now[0]

        rng = random.Random(seed)

        def getrandbits(bits):
            value = rng.getrandbits(bits)
            return (2**bits - 1 - (value & 3)) if high and bits == 24 else value

        generator = twin.IdGenerator(clock_ms, getrandbits)
        return [generator.new_id() for _ in range(len(steps) + 10)]

    compiled, reference = drive(cy_codec), drive(_py)
    assert compiled == reference
    assert reference == sorted(set(reference))