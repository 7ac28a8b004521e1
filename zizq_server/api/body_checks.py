"""What a request body's parser lets through or words badly, in the API's terms.

orjson and msgpack check the grammar; three things need more, each
answered with a 400 whose message names the field as the other body errors
do (``fields``):

* a field given twice in a JSON object (serde refuses it, orjson keeps the
  last one): ``duplicate field `queue` at line 1 column 20``, found on the
  raw bytes by ``queue_core.duplicates`` (compiled, ~0.1 us for a single
  enqueue). MessagePack maps are not checked: msgpack keeps the last value
  of a repeated key and does not report it, and telling would take a
  Python hook on every map of every body (payloads included) for a case no
  client library produces;
* a JSON number beyond a double (``1e400``), which orjson refuses with a
  message about infinity at a position: the field at that position is
  named with the range it takes;
* a non-finite MessagePack float (NaN, infinity), which the format can
  carry and JSON cannot: refused wherever it is, since no field takes one
  and a payload must be a JSON value (orjson would write NaN as ``null``).
  Only MessagePack bodies are walked for it.
"""

import math
import re

import orjson

from queue_core.duplicates import duplicate_field

# What each numeric field takes, as its ``invalid value`` messages say.
EXPECTED = {
    "priority": "u16",
    "ready_at": "u64",
    "retry_at": "u64",
    "retry_limit": "u32",
    "base_ms": "u32",
    "jitter_ms": "u32",
    "attempt": "u32",
    "completed_ms": "u64",
    "dead_ms": "u64",
    "exponent": "a finite f32",
    "payload": "a finite number (a payload is a JSON value)",
    "ids": "a string",
}
_NUMBER = "a finite number"
_LONGEST_SHOWN = 40  # characters of an offending number shown in a message

_TOKEN = re.compile(rb'\s*(?:("(?:[^"\\]|\\.)*")|([][{}:,])|([^][{}:,"\s]+))')


def duplicate_message(body: bytes):
    """``duplicate field `<name>` at line L column C``, or None."""
    found = duplicate_field(body)
    if found is None:
        return None
    name, offset = found
    # serde reports the position of the key's closing quote.
    return f"duplicate field `{name}` at {_position(body, offset - 1)}"


def out_of_range_message(body: bytes, offset: int) -> str:
    """The message for a number at ``offset`` that a double cannot hold."""
    path = _path_at(body, offset)
    number = _TOKEN.match(body, offset).group(3) or b"?"
    text = number[:_LONGEST_SHOWN].decode("ascii", "replace")
    return (
        f"{_describe(path)}: invalid value: number `{text}`, expected "
        f"{_expected(path)} at {_position(body, offset)}"
    )


def non_finite_message(value):
    """The message for the first NaN or infinite float in ``value``, or None."""
    path = _non_finite(value, [])
    if path is None:
        return None
    bad = path.pop()
    return (
        f"{_describe(path)}: invalid value: floating point `{bad}`, expected "
        f"{_expected(path)}"
    )


def _non_finite(value, path):
    """The path to the first non-finite float, ending with it; else None."""
    if type(value) is float:
        return None if math.isfinite(value) else [*path, value]
    if type(value) is dict:
        items = value.items()
    elif type(value) is list:
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, [*path, key])
        if found is not None:
            return found
    return None


def _describe(path) -> str:
    """``priority``, ``jobs[2]: priority``: the field, as the body errors say.

    Below ``payload`` the field is the payload; an array element's index
    prefixes what is below it, as the bulk messages do.
    """
    prefix, name = "", "body"
    for step in path:
        if isinstance(step, int):
            prefix, name = f"{prefix}{name}[{step}]: ", None
            continue
        name = step
        if step == "payload":
            break
    return prefix + name if name is not None else prefix[:-2]


def _expected(path) -> str:
    names = [step for step in path if isinstance(step, str)]
    if "payload" in names:
        return EXPECTED["payload"]
    return EXPECTED.get(names[-1], _NUMBER) if names else _NUMBER


def _path_at(body: bytes, offset: int) -> list:
    """The keys and indexes down to the value at ``offset``.

    The bytes before ``offset`` are valid JSON (orjson stopped there).
    """
    stack = []  # [key or None] for an object, [index] for an array
    expect_key = False
    for match in _TOKEN.finditer(body, 0, offset):
        token = match.group(match.lastindex)
        if token == b"{":
            stack.append([None])
            expect_key = True
        elif token == b"[":
            stack.append([0])
        elif token in (b"}", b"]"):
            stack.pop()
        elif token == b",":
            if isinstance(stack[-1][0], int):
                stack[-1][0] += 1
            else:
                expect_key = True
        elif match.lastindex == 1 and expect_key:
            stack[-1][0] = orjson.loads(token)
            expect_key = False
    return [entry[0] for entry in stack]


def _position(body: bytes, index: int) -> str:
    """Where the byte at ``index`` is, as serde and orjson say (1-based)."""
    line = body.count(b"\n", 0, index) + 1
    column = index - body.rfind(b"\n", 0, index)
    return f"line {line} column {column}"
