"""``codec.plain_bulk_requests``: the compiled scanner against the reference.

The reference parses a bulk body with orjson and reads every job with
``plain_enqueue_request``; the compiled twin scans the bytes and must give
exactly the same answer for any body, valid or not, however it is spelled
(compact, spaced, indented, escaped), and must actually answer the common
shapes itself rather than hand them to the reference.
"""

import json

import orjson
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from queue_core.codec import _py
from queue_core.defaults import DEFAULT_PRIORITY
from queue_core.options import EnqueueRequest

from .test_codec import JOB_PARAMS, JSON_VALUE, TWINS, VALID_PARAMS

SPELLINGS = [
    orjson.dumps,
    lambda obj: json.dumps(obj).encode(),  # ", " and ": ", non-ASCII escaped
    lambda obj: json.dumps(obj, ensure_ascii=False, indent=2).encode(),
    lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(),
    # CR, LF and tab between tokens (separators never touch strings).
    lambda obj: json.dumps(
        obj, ensure_ascii=False, separators=(" ,\r\n\t", "\t: ")
    ).encode(),
]
# Bodies of jobs of every kind, and of plain jobs with keys besides "jobs".
BODIES = st.fixed_dictionaries(
    {"jobs": st.lists(VALID_PARAMS | JOB_PARAMS, max_size=4)}
) | st.fixed_dictionaries(
    {"jobs": st.lists(VALID_PARAMS, max_size=4)},
    optional={"other": JSON_VALUE, "jobs ": st.none()},
)


def _spelled(obj, spelling: int) -> bytes:
    try:
        return SPELLINGS[spelling](obj)
    except (TypeError, ValueError):  # bytes, or ints orjson cannot write
        assume(False)


def _same(cy_codec, body: bytes) -> None:
    compiled = cy_codec.plain_bulk_requests(body)
    assert repr(compiled) == repr(_py.plain_bulk_requests(body))


@TWINS
@given(obj=BODIES, spelling=st.integers(0, len(SPELLINGS) - 1))
def test_codec_twins_read_bulk_bodies_identically(cy_codec, obj, spelling):
    _same(cy_codec, _spelled(obj, spelling))


@TWINS
@given(
    obj=BODIES,
    spelling=st.integers(0, len(SPELLINGS) - 1),
    at=st.floats(0, 1),
    cut=st.integers(0, 3),
    insert=st.binary(max_size=2),
)
def test_codec_twins_agree_on_damaged_bulk_bodies(
    cy_codec, obj, spelling, at, cut, insert
):
    body = _spelled(obj, spelling)
    i = int(at * len(body))
    _same(cy_codec, body[:i] + insert + body[i + cut :])


@TWINS
@given(payload=JSON_VALUE, spelling=st.integers(0, len(SPELLINGS) - 1))
@example(payload={", ": None, '": ': [1, 2]}, spelling=len(SPELLINGS) - 1)
def test_the_scanner_writes_any_payload_as_orjson_does(cy_codec, payload, spelling):
    job = {"type": "t", "queue": "q", "payload": payload}
    body = _spelled({"jobs": [job]}, spelling)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_py, "plain_bulk_requests", _refuse)
        (request,) = cy_codec.plain_bulk_requests(body)
    assert request.payload == orjson.dumps(orjson.loads(body)["jobs"][0]["payload"])


def _refuse(body):
    raise AssertionError(f"handed to the reference: {body!r}")


@pytest.fixture
def no_reference(monkeypatch):
    """Fail any call that reaches the reference: the scanner must answer."""
    monkeypatch.setattr(_py, "plain_bulk_requests", _refuse)


def _job(**fields) -> dict:
    return {"type": "send", "queue": "emails", "payload": {"n": 1}, **fields}


@pytest.mark.parametrize("spelling", range(len(SPELLINGS)))
def test_the_scanner_reads_the_common_shapes_itself(cy_codec, no_reference, spelling):
    jobs = [
        _job(),
        _job(priority=0, ready_at=None, retry_limit=7, backoff=None, unknown=[1, {}]),
        _job(type="mail", payload={"to": "ü@example.com", "amount": 12.5, "n": -3}),
        _job(payload=[None, True, False, "", {"a": {"b": []}}, 10**17]),
        _job(unique_key="order-1", unique_while="active"),
        _job(unique_key="", unique_while=None),
    ]
    body = SPELLINGS[spelling]({"jobs": jobs})
    requests = cy_codec.plain_bulk_requests(body)
    assert [r.type for r in requests] == ["send", "send", "mail", "send", "send", "send"]
    assert [(r.unique_key, r.unique_while) for r in requests[3:]] == [
        (None, None), ("order-1", "active"), ("", None)
    ]
    assert requests[0] == EnqueueRequest("send", "emails", b'{"n":1}', DEFAULT_PRIORITY)
    assert (requests[1].priority, requests[1].retry_limit) == (0, 7)
    assert requests[2].payload == '{"to":"ü@example.com","amount":12.5,"n":-3}'.encode()
    assert requests[3].payload == (
        b'[null,true,false,"",{"a":{"b":[]}},100000000000000000]'
    )
    # A repeated name is the same object (no new str per job).
    assert requests[0].queue is requests[3].queue
    assert cy_codec.plain_bulk_requests(b'{"jobs":[]}') == []


def test_the_scanner_reads_names_beyond_ascii_unless_escaped(cy_codec, monkeypatch):
    body = orjson.dumps({"jobs": [_job(type="é-mail", queue="ü")]})
    monkeypatch.setattr(_py, "plain_bulk_requests", _refuse)
    (request,) = cy_codec.plain_bulk_requests(body)
    assert (request.type, request.queue) == ("é-mail", "ü")
    monkeypatch.undo()
    _same(cy_codec, body.replace("é".encode(), b"\\u00e9"))


@pytest.mark.parametrize(
    "job",
    [
        _job(unique_while="queued"),
        _job(unique_key="k", unique_while="forever"),
        _job(unique_key="k", unique_while=None, batch={}),
        _job(unique_key=5),
        _job(priority=-1),
        _job(retry_limit=2**32),
        _job(queue="a,b"),
        _job(type=""),
        {"type": "t", "queue": "q"},
        ["t", "q", 1],
    ],
)
def test_the_scanner_says_none_itself_for_a_job_that_is_not_plain(
    cy_codec, no_reference, job
):
    assert cy_codec.plain_bulk_requests(orjson.dumps({"jobs": [_job(), job]})) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"jobs":[{"type":"t","type":"u","queue":"q","payload":1}]}',  # repeated
        b'{"jobs":[{"type":"t","queue":"q","payload":1,"backoff":{},"backoff":null}]}',
        b'{"jobs":[{"typ\\u0065":"t","queue":"q","payload":1}]}',  # escaped key
        b'{"jobs":[],"jobs":[{"type":"t","queue":"q","payload":1}]}',
        b'{"other":1,"jobs":[]}',
        b'\xef\xbb\xbf{"jobs":[]}',
        b'{"jobs":[{"type":"t","queue":"q","payload":"\xed\xa0\x80"}]}',  # surrogate
        b'{"jobs":[{"type":"t","queue":"q","payload":01}]}',
        b'{"jobs":[{"type":"t","queue":"q","payload":1,"priority":1.0}]}',  # a float
        b'{"jobs":[{"type":"t","queue":"q","payload":1,"priority":-0}]}',  # it is 0
        b'{"jobs":[{"type":"t","queue":"q","payload":1}]',
        b'{"jobs":[{"type":"t","queue":"q","payload":1}]} x',
        b'{"jobs":[{"type":"t","queue":"q","payload":%s}]}' % (b"[" * 101 + b"]" * 101),
    ],
)
def test_the_scanner_hands_what_it_cannot_judge_to_the_reference(cy_codec, body):
    _same(cy_codec, body)


SEVENTEEN_KEYS = "{" + ",".join(f'"k{i}":{i}' for i in range(17)) + "}"


@pytest.mark.parametrize(
    "payload",
    [
        '{"a":1,"a":2}',
        '{"a":1,"b":{"a":2,"a":3}}',
        SEVENTEEN_KEYS,
        SEVENTEEN_KEYS[:-1] + ',"k0":"again"}',
        "-0",
        "[-0.0, 0.0, 1E2, 1e-2, 2.50]",
        '"\\u0041\\n\\/"',
        "12345678901234567890",
        "-9223372036854775808",
        "999999999999999999",
        '"\x7f"',
        "[" * 100 + "]" * 100,
    ],
)
def test_the_scanner_round_trips_payloads_it_cannot_copy(
    cy_codec, no_reference, payload
):
    body = b'{"jobs":[{"type":"t","queue":"q","payload":%s}]}' % payload.encode()
    (request,) = cy_codec.plain_bulk_requests(body)
    assert request.payload == orjson.dumps(orjson.loads(payload))


# The scanner skips a string's bytes a word (8 bytes) at a time, and looks
# at each byte of a word that holds one of these.
SPECIAL_BYTES = [
    b'\\"',
    b"\\\\",
    b"\\n",
    b"\\u00e9",
    b"\x01",
    b"\x1f",
    b" ",
    b"\x7f",
    "é".encode(),
    "€".encode(),
    "😀".encode(),
    b"\xff",
    b"\xc3",  # a sequence cut short
    b"\xe2\x82",
]


@pytest.mark.parametrize("special", SPECIAL_BYTES)
def test_the_scanner_reads_a_string_alike_wherever_a_byte_falls_in_a_word(
    cy_codec, special
):
    for at in range(18):
        for tail in (0, 1, 9):
            text = b"a" * at + special + b"b" * tail
            for body in (
                b'{"jobs":[{"type":"%s","queue":"q","payload":1}]}' % text,
                b'{"jobs":[{"type":"t","queue":"q","payload":"%s"}]}' % text,
                b'{"jobs":[{"type":"t","queue":"q","payload":{"%s":1}}]}' % text,
                # Spaced: the payload is copied without its spaces.
                b'{"jobs":[{"type":"t","queue":"q","payload":{"k": "%s" }}]}' % text,
                b'{"jobs":[{"type":"t","queue":"q","payload":"%s' % text,
            ):
                _same(cy_codec, body)
