"""Validation of queue, type and cron names (API.md 2.4).

The first failing rule wins, and the message names the field, because
clients show these messages to people.

A name is at most ``MAX_NAME_BYTES`` (255) bytes of UTF-8, a limit the
spec leaves open (the real server has none): names are parts of storage
keys, index entries and every rendered job, so one client's megabyte queue
name would cost in all of them. Longer names are refused with
``<field> must not be longer than 255 bytes``, checked right after
emptiness, before the characters are scanned.
"""

from .defaults import MAX_NAME_BYTES
from .errors import InvalidInput

_RESERVED = "*?[]{}\\"


def problem(field: str, value: str):
    """The rule ``value`` breaks as a message, or None if it is a valid name."""
    if not value:
        return f"{field} must not be empty"
    if len(value) > MAX_NAME_BYTES or (
        not value.isascii() and _utf8_length(value) > MAX_NAME_BYTES
    ):
        return f"{field} must not be longer than {MAX_NAME_BYTES} bytes"
    if "," in value:
        return f"{field} must not contain ','"
    if "\0" in value:
        return f"{field} must not contain null bytes"
    for char in value:
        if char in _RESERVED:
            return f"{field} must not contain '{char}' (reserved)"
    return None


def _utf8_length(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def validate(field: str, value: str) -> None:
    """Raise InvalidInput when ``value`` is not a valid ``field`` name."""
    message = problem(field, value)
    if message is not None:
        raise InvalidInput(message)
