"""Validation of queue, type and cron names (API.md 2.4).

The first failing rule wins, and the message names the field, because
clients show these messages to people.
"""

from .errors import InvalidInput

_RESERVED = "*?[]{}\\"


def problem(field: str, value: str):
    """The rule ``value`` breaks as a message, or None if it is a valid name."""
    if not value:
        return f"{field} must not be empty"
    if "," in value:
        return f"{field} must not contain ','"
    if "\0" in value:
        return f"{field} must not contain null bytes"
    for char in value:
        if char in _RESERVED:
            return f"{field} must not contain '{char}' (reserved)"
    return None


def validate(field: str, value: str) -> None:
    """Raise InvalidInput when ``value`` is not a valid ``field`` name."""
    message = problem(field, value)
    if message is not None:
        raise InvalidInput(message)
