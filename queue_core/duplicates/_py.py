"""The first duplicated field of a JSON request body (pure-Python reference).

serde refuses a field given twice in a struct-typed object (``duplicate
field `queue` ``) and ignores repeats of keys it does not know, and it
never looks inside a value it keeps as arbitrary JSON (``payload``) or
ignores (an unknown key's). orjson keeps the last value and cannot say, so
the body's bytes are walked once more, here, after orjson has accepted
them (this walk assumes valid JSON).

Which objects are structs is decided without knowing the endpoint: the
body itself, the values of ``backoff``, ``retention`` and ``batch``, and
the elements of ``jobs``. A field is any name in ``FIELDS``, the union of
the fields of every request body; a name outside it is an unknown key,
whatever the object. Where one body's unknown key is another's field (a
``message`` twice in an enqueue) this refuses what serde would ignore, a
difference no client sees in practice.

``duplicate_field`` returns ``(name, offset)``, the offset being just past
the second key's closing quote (where serde reports it), or None.
"""

import re

import orjson

FIELDS = frozenset(
    (
        # job parameters (API.md 7.2.1) and a patch body's (7.5.1)
        "queue", "type", "payload", "priority", "ready_at", "retry_limit",
        "backoff", "retention", "unique_key", "unique_while", "batch",
        # their objects
        "exponent", "base_ms", "jitter_ms", "completed_ms", "dead_ms",
        "key", "when", "fold",
        # bulk enqueue, failure, bulk ack
        "jobs", "message", "error_type", "backtrace", "retry_at", "kill", "ids",
    )
)
STRUCTS = frozenset(("backoff", "retention", "batch"))
STRUCT_LISTS = frozenset(("jobs",))

# One token: a whole string (so quotes inside strings never misalign the
# walk), a punctuation mark, or a bare scalar.
# The string alternative is an unrolled loop: ``(?:[^"\\]|\\.)*`` made the
# regex engine keep state per character (+1 GiB for one 8 MiB string).
_TOKEN = re.compile(rb'\s*(?:("[^"\\]*(?:\\.[^"\\]*)*")|([][{}:,])|([^][{}:,"\s]+))')


def duplicate_field(body: bytes):
    """``(name, offset)`` of the first repeated field, or None."""
    tokens = [m for m in _TOKEN.finditer(body) if m.lastindex]
    if not tokens:
        return None
    found = []
    _value(tokens, 0, "struct", found)
    return found[0] if found else None


def _value(tokens, i: int, mode: str, found: list) -> int:
    """Walk the value at ``tokens[i]``; the index after it."""
    text = tokens[i].group(tokens[i].lastindex)
    if text == b"{":
        return _object(tokens, i, mode == "struct", found)
    if text == b"[":
        return _array(tokens, i, "struct" if mode == "list" else "skip", found)
    return i + 1


def _object(tokens, i: int, struct: bool, found: list) -> int:
    seen = set()
    i += 1
    while tokens[i].group(tokens[i].lastindex) != b"}":
        if tokens[i].group(tokens[i].lastindex) == b",":
            i += 1
        key = tokens[i]
        name = orjson.loads(key.group(1))
        if struct and name in FIELDS:
            if name in seen and not found:
                found.append((name, key.end()))
            seen.add(name)
        mode = "skip"
        if struct and name in STRUCTS:
            mode = "struct"
        elif struct and name in STRUCT_LISTS:
            mode = "list"
        i = _value(tokens, i + 2, mode, found)  # past the key and its ':'
    return i + 1


def _array(tokens, i: int, mode: str, found: list) -> int:
    i += 1
    while tokens[i].group(tokens[i].lastindex) != b"]":
        if tokens[i].group(tokens[i].lastindex) == b",":
            i += 1
        i = _value(tokens, i, mode, found)
    return i + 1
