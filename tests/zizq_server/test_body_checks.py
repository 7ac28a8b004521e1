"""Body errors beyond the grammar name the field (negotiation.decode)."""

import msgpack
import pytest

from zizq_server.api import negotiation
from zizq_server.api.negotiation import JSON, MSGPACK, BodyError


def _message(fmt, body: bytes) -> str:
    with pytest.raises(BodyError) as info:
        negotiation.decode(fmt, body)
    return str(info.value)


@pytest.mark.parametrize(
    "body, message",
    [
        (
            b'{"queue":"a","queue":"b"}',
            "invalid JSON: duplicate field `queue` at line 1 column 20",
        ),
        (
            b'{"type":"t",\n  "type":"u"}',
            "invalid JSON: duplicate field `type` at line 2 column 8",
        ),
        (
            b'{"priority":1e400}',
            "invalid JSON: priority: invalid value: number `1e400`, expected u16 "
            "at line 1 column 13",
        ),
        (
            b'{"retention":{"dead_ms":\n1e400}}',
            "invalid JSON: dead_ms: invalid value: number `1e400`, expected u64 "
            "at line 2 column 1",
        ),
        (
            b'{"ids":["a",-1e400]}',
            "invalid JSON: ids[1]: invalid value: number `-1e400`, expected a "
            "string at line 1 column 13",
        ),
        (
            b'{"x":1' + b"0" * 400 + b"}",
            "invalid JSON: x: invalid value: number `" + "1" + "0" * 39
            + "`, expected a finite number at line 1 column 6",
        ),
        (b"1e400", "invalid JSON: body: invalid value: number `1e400`, expected "
         "a finite number at line 1 column 1"),
    ],
)
def test_json_bodies(body, message):
    assert _message(JSON, body) == message


def test_json_repeats_in_payloads_and_unknown_keys_pass():
    body = b'{"payload":{"a":1,"a":2},"x":1,"x":2}'
    assert negotiation.decode(JSON, body) == {"payload": {"a": 2}, "x": 2}


@pytest.mark.parametrize(
    "value, message",
    [
        ({"retry_at": float("inf")}, "retry_at: invalid value: floating point "
         "`inf`, expected u64"),
        ({"jobs": [{"payload": [float("nan")]}]}, "jobs[0]: payload: invalid "
         "value: floating point `nan`, expected a finite number (a payload is a "
         "JSON value)"),
        (float("-inf"), "body: invalid value: floating point `-inf`, expected a "
         "finite number"),
    ],
)
def test_msgpack_non_finite_floats(value, message):
    assert _message(MSGPACK, msgpack.packb(value)) == f"invalid MessagePack: {message}"


def test_msgpack_finite_floats_pass():
    value = {"payload": {"f": 1.5, "g": [-2.5e300]}}
    assert negotiation.decode(MSGPACK, msgpack.packb(value)) == value
