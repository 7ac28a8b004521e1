"""Strict parsers for every configuration value: durations, sizes, flags, enums.

One function per value kind, shared by ``settings`` (django-environ ``cast=``)
and the command-line flags (argparse ``type=``), so an environment variable
and its flag always accept exactly the same spellings (spec/ADMIN_AND_CLI.md
section 1.1). Each parser takes the raw text and returns the typed value or
raises ``InvalidValue`` with a message that names the bad input.

``InvalidValue`` is both a ``ValueError`` (what ``cast=`` callers catch) and
an ``argparse.ArgumentTypeError`` (so argparse prints our message instead of
its generic "invalid <function> value"). Durations and sizes are computed
with exact fractions: ``90000000000y`` must not lose precision through float
arithmetic. Durations are saturated at ``MAX_U64`` milliseconds, the widest
value the engine stores (about 584 million years: "forever").
"""

import argparse
import math
import re
from fractions import Fraction

from queue_core.defaults import MAX_U64, MAX_U32


class InvalidValue(ValueError, argparse.ArgumentTypeError):
    """Raised when a configuration value does not parse."""


_NS_PER_SECOND = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_SECOND
_DURATION_UNITS_NS = {
    **dict.fromkeys(("ns", "nsec", "nsecs"), 1),
    **dict.fromkeys(("us", "usec", "usecs", "µs"), 1_000),
    **dict.fromkeys(("ms", "msec", "msecs"), 1_000_000),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), _NS_PER_SECOND),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60 * _NS_PER_SECOND),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600 * _NS_PER_SECOND),
    **dict.fromkeys(("d", "day", "days"), _NS_PER_DAY),
    **dict.fromkeys(("w", "week", "weeks"), 7 * _NS_PER_DAY),
    # 30.44 and 365.25 days are whole numbers of seconds, so these stay exact.
    **dict.fromkeys(("M", "month", "months"), 2_630_016 * _NS_PER_SECOND),
    **dict.fromkeys(("y", "year", "years"), 31_557_600 * _NS_PER_SECOND),
}
_DURATION_TERM = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Zµ]+)")

_SIZE_UNITS = {
    "b": 1,
    **{f"{p}b": 1000 ** (i + 1) for i, p in enumerate("kmgtp")},
    **{f"{p}ib": 1024 ** (i + 1) for i, p in enumerate("kmgtp")},
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)")
_UNSIGNED = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

_TRUE = frozenset(("true", "1", "yes", "on"))
_FALSE = frozenset(("false", "0", "no", "off"))

COMMIT_MODES = ("buffered", "fsync")
LOG_FORMATS = ("pretty", "compact", "json")
LOG_LEVELS = ("trace", "debug", "info", "warn", "error")
LOG_ROTATIONS = ("daily", "hourly", "never")


def parse_duration_ms(text: str) -> int:
    """Parse ``1500`` (milliseconds) or humantime terms (``1h 30m``) to ms."""
    value = text.strip()
    if _UNSIGNED.fullmatch(value):
        return min(int(value), MAX_U64)
    total_ns = Fraction(0)
    position = 0
    while position < len(value):
        term = _DURATION_TERM.match(value, position)
        if term is None:
            raise InvalidValue(
                f"invalid duration '{text}', expected milliseconds or terms "
                "like 1500, 12.5s or 1h 30m"
            )
        number, unit = term.groups()
        if unit not in _DURATION_UNITS_NS:
            raise InvalidValue(f"invalid duration '{text}': unknown unit '{unit}'")
        total_ns += Fraction(number) * _DURATION_UNITS_NS[unit]
        position = term.end()
    if position == 0:
        raise InvalidValue(f"invalid duration '{text}': empty value")
    return min(math.floor(total_ns / 1_000_000), MAX_U64)


def parse_byte_size(text: str) -> int:
    """Parse ``268435456`` (bytes) or ``500MB``/``1 GiB``/``1.5gb`` to bytes."""
    match = _SIZE.fullmatch(text.strip())
    unit = match.group(2).lower() if match else ""
    if match is None or (unit and unit not in _SIZE_UNITS):
        raise InvalidValue(
            f"invalid byte size '{text}', expected bytes or a number with a unit "
            "(B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)"
        )
    size = math.floor(Fraction(match.group(1)) * _SIZE_UNITS.get(unit, 1))
    if size > MAX_U64:
        raise InvalidValue(f"invalid byte size '{text}': too large")
    return size


def parse_bool(text: str) -> bool:
    """Parse true/false (also 1/0, yes/no, on/off), case-insensitively."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidValue(f"invalid boolean '{text}', expected 'true' or 'false'")


def parse_commit_mode(text: str) -> str:
    """Parse ``buffered`` or ``fsync``."""
    if text in COMMIT_MODES:
        return text
    raise InvalidValue(
        f"invalid commit mode '{text}', expected 'buffered' or 'fsync'"
    )


def _choice(text: str, kind: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value in choices:
        return value
    expected = ", ".join(choices)
    raise InvalidValue(f"invalid {kind} '{text}', expected one of: {expected}")


def parse_log_format(text: str) -> str:
    """Parse a log format: pretty | compact | json."""
    return _choice(text, "log format", LOG_FORMATS)


def parse_log_level(text: str) -> str:
    """Parse a log level: trace | debug | info | warn | error."""
    return _choice(text, "log level", LOG_LEVELS)


def parse_log_rotation(text: str) -> str:
    """Parse a log rotation period: daily | hourly | never."""
    return _choice(text, "log rotation", LOG_ROTATIONS)


def _unsigned(text: str, maximum: int, kind: str) -> int:
    value = text.strip()
    if _UNSIGNED.fullmatch(value) and int(value) <= maximum:
        return int(value)
    raise InvalidValue(f"invalid {kind} '{text}', expected an integer 0-{maximum}")


def parse_port(text: str) -> int:
    """Parse a TCP port, 0-65535 (0 asks the OS for an ephemeral port)."""
    return _unsigned(text, 65535, "port")


def parse_u8(text: str) -> int:
    """Parse an integer 0-255."""
    return _unsigned(text, 255, "value")


def parse_u32(text: str) -> int:
    """Parse an integer 0-4294967295."""
    return _unsigned(text, MAX_U32, "value")


def parse_float(text: str) -> float:
    """Parse a finite decimal number such as ``4.0`` or ``3.75``."""
    value = text.strip()
    if _FLOAT.fullmatch(value) and math.isfinite(number := float(value)):
        return number
    raise InvalidValue(f"invalid number '{text}', expected a decimal like 4.0")
