"""Content negotiation: JSON or MessagePack in, JSON or MessagePack out.

The rules are the real server's substring rules (API.md 2.1), evaluated in
order and case-sensitively; q-values are ignored. Streams negotiate their
own formats (API.md 2.2, see ``STREAM_*``). Every encoder here emits compact
output in the key order of the dicts it is given.
"""

import msgpack
import orjson

from . import body_checks

JSON = "application/json"
MSGPACK = "application/msgpack"
SUPPORTED = [JSON, MSGPACK]

SSE = "text/event-stream"
MSGPACK_STREAM = "application/vnd.zizq.msgpack-stream"
NDJSON = "application/x-ndjson"
STREAM_SUPPORTED = [SSE, NDJSON, MSGPACK_STREAM]

_packb = msgpack.Packer(use_bin_type=True).pack


class BodyError(Exception):
    """A request body that cannot be decoded into what the endpoint expects."""


def response_format(accept):
    """JSON or MSGPACK for an ``Accept`` value (None = absent); None = 406."""
    if accept is None:
        return JSON
    if MSGPACK in accept:
        return MSGPACK
    if JSON in accept or "*/*" in accept:
        return JSON
    return None


def request_format(content_type):
    """JSON or MSGPACK for a ``Content-Type`` value; None = 415."""
    if content_type is None:
        return JSON
    if MSGPACK in content_type:
        return MSGPACK
    if JSON in content_type:
        return JSON
    return None


def stream_format(accept):
    """The take stream format for an ``Accept`` value; None = 406."""
    if accept is None:
        return NDJSON
    if SSE in accept:
        return SSE
    if MSGPACK_STREAM in accept or MSGPACK in accept:
        return MSGPACK_STREAM
    if NDJSON in accept or JSON in accept or "*/*" in accept:
        return NDJSON
    return None


def encode(fmt: str, obj) -> bytes:
    return orjson.dumps(obj) if fmt == JSON else _packb(obj)


def _reject_ext(code, data):
    raise BodyError("ext values are not supported")


def decode(fmt: str, body: bytes):
    """Decode a request body; errors carry the spec's ``invalid JSON: ...`` text.

    Beyond the grammar, ``body_checks`` refuses repeated JSON fields,
    numbers beyond a double and non-finite MessagePack floats.
    """
    if fmt == JSON:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BodyError(f"invalid JSON: {_json_detail(body, exc)}") from None
        problem = body_checks.duplicate_message(body)
    else:
        try:
            value = msgpack.unpackb(body, raw=False, ext_hook=_reject_ext)
        except BodyError as exc:
            raise BodyError(f"invalid MessagePack: {exc}") from None
        except Exception as exc:  # msgpack raises several unrelated types
            detail = str(exc) or type(exc).__name__
            raise BodyError(f"invalid MessagePack: {detail}") from None
        problem = body_checks.non_finite_message(value)
    if problem is not None:
        raise BodyError(f"invalid {format_name(fmt)}: {problem}")
    return value


def _json_detail(body: bytes, exc) -> str:
    if str(exc).startswith("number is infinity"):
        return body_checks.out_of_range_message(body, exc.pos)
    return str(exc)


def format_name(fmt: str) -> str:
    return "JSON" if fmt == JSON else "MessagePack"
