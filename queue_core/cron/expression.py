"""Cron expressions: validation and the next occurrence (API.md 7.6.1).

The arithmetic is croniter's (``croniter`` 7.x, kept by the pallets-eco
organisation, pure Python): 5 fields (``min hour dom month dow``) or 6
with a leading seconds field (``second_at_beginning``), ranges, lists,
steps, month and weekday names, ``L``, ``W``, ``#`` and the Vixie rule
that a day matches when day-of-month OR day-of-week does if both are
restricted. It was chosen over cronsim, which has no seconds field, no
``W`` and no ``?``. The real server's croner spells two things
differently, and they are rewritten before croniter sees them: ``?`` (no
specific value) is ``*``, and "the last Friday" is ``5L`` where croniter
writes ``L5``. Anything but 5 or 6 fields is refused here: croniter would
take a 7th (year) field that croner does not.

Time zones are IANA names read through ``zoneinfo``; an entry without one
is evaluated in the host's zone (``TZ``, else ``/etc/localtime``). The next
occurrence is the first one strictly after ``now`` truncated to whole
seconds, in milliseconds. Around daylight-saving changes the wall clock
decides: a time inside a skipped hour fires at the first instant after the
gap (02:30 on a spring-forward night fires at 03:00), and a time that the
repeated hour shows twice fires once, at its first instance, unless the
hour field is ``*`` (then the expression counts elapsed time, and a
``*/20 * * * *`` entry keeps firing every 20 minutes through both halves
of the repeated hour), which is what Vixie cron does.

An occurrence costs ~100 us of croniter, so results are memoised per
expression, zone and second: 10,000 entries sharing one expression that
fire in the same second compute it once.
"""

import os
import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from croniter import CroniterBadDateError, CroniterError, croniter

from ..errors import InvalidInput

_LAST_WEEKDAY = re.compile(r"^([0-7]|[A-Za-z]{3})L$")
_CACHE_SIZE = 4096


def check(expression: str, timezone) -> None:
    """Raise InvalidInput for an expression or zone the entry cannot use."""
    zone(timezone)
    _compiled(expression, timezone)


def zone(name):
    """The ``ZoneInfo`` of ``name``, the host's zone for None (400 if unknown)."""
    if name is None:
        return _host_zone()
    return _named_zone(name)


def next_after(expression: str, timezone, now_ms: int):
    """The first occurrence strictly after ``now_ms`` (truncated to seconds),
    in ms, or None when the expression has no future occurrence."""
    return _next_after_second(expression, timezone, now_ms // 1000)


@lru_cache(maxsize=_CACHE_SIZE)
def _next_after_second(expression: str, timezone, after_s: int):
    tz = zone(timezone)
    it = _compiled(expression, timezone)
    repeats = _hour_is_wildcard(expression)
    start = datetime.fromtimestamp(after_s, tz)
    it.set_current(start, force=True)
    while True:
        try:
            at = int(it.get_next(float))
        except CroniterBadDateError:  # no occurrence in croniter's horizon
            return None
        if repeats or not _second_instance(at, tz):
            return at * 1000


def _second_instance(at_s: int, tz) -> bool:
    """Whether ``at_s`` is the later of two instants showing one wall time."""
    local = datetime.fromtimestamp(at_s, tz)
    return local.replace(fold=0).timestamp() < at_s


def _hour_is_wildcard(expression: str) -> bool:
    fields = expression.split()
    return len(fields) >= 5 and fields[-4] == "*"


@lru_cache(maxsize=_CACHE_SIZE)
def _compiled(expression: str, timezone):
    """A croniter for the expression (it is re-pointed per use, not shared
    across zones: croniter keeps the zone of its start time)."""
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise InvalidInput(
            f"invalid cron expression: expected 5 or 6 fields, found {len(fields)}"
        )
    text = " ".join(
        _croniter_field(f, i == len(fields) - 1) for i, f in enumerate(fields)
    )
    start = datetime.fromtimestamp(0, zone(timezone))
    try:
        return croniter(text, start, second_at_beginning=len(fields) == 6)
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        raise InvalidInput(f"invalid cron expression: {_detail(exc)}") from None


def _croniter_field(field: str, day_of_week: bool) -> str:
    if field == "?":
        return "*"
    if day_of_week:
        return ",".join(_LAST_WEEKDAY.sub(r"L\1", part) for part in field.split(","))
    return field


def _detail(exc: Exception) -> str:
    text = str(exc)
    return text or type(exc).__name__


def _named_zone(name: str):
    try:
        return _load_zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        quoted = orjson.dumps(name).decode()
        raise InvalidInput(f"invalid timezone: {quoted}") from None


@lru_cache(maxsize=256)
def _load_zone(name: str):
    if not name or "\0" in name:
        raise ValueError(name)
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _host_zone():
    """The host's zone, DST rules included (not a fixed UTC offset)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return _load_zone(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except OSError:
        return ZoneInfo("UTC")
