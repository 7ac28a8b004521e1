"""How ``zizq top`` writes times and durations (ADMIN_AND_CLI.md 7.2).

Durations are compact, largest unit first with the zero parts left out
(``3s``, ``2m30s``, ``1h``), ``< 1s`` under a second and ``-`` when the
time is unknown; timestamps in the detail panel are local time with the
UTC offset (``2026-01-02 03:04:05 +01:00``). Pure functions of their
arguments: the caller passes "now", so the table and the tests agree.
"""

import datetime

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))
UNKNOWN = "-"


def duration(ms) -> str:
    """A span of milliseconds as ``1d2h``, ``2m30s``, ``< 1s`` or ``-``."""
    if ms is None:
        return UNKNOWN
    if ms < 1_000:
        return "< 1s"
    parts = []
    for suffix, size in _UNITS:
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{suffix}")
    return "".join(parts)


def since(then_ms, now_ms: int) -> str:
    """How long ago ``then_ms`` was (a future time counts as now)."""
    if then_ms is None:
        return UNKNOWN
    return duration(max(0, now_ms - then_ms))


def due(at_ms, now_ms: int) -> str:
    """The Scheduled tab's ``DUE``: time left, or ``<d> ago`` once overdue."""
    if at_ms is None:
        return UNKNOWN
    if at_ms >= now_ms:
        return duration(at_ms - now_ms)
    return f"{duration(now_ms - at_ms)} ago"


def local_time(ms) -> str:
    """``YYYY-MM-DD HH:MM:SS ±HH:MM`` in the machine's time zone."""
    moment = datetime.datetime.fromtimestamp(ms / 1000).astimezone()
    offset = moment.utcoffset() or datetime.timedelta(0)
    sign = "-" if offset < datetime.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{moment:%Y-%m-%d %H:%M:%S} {sign}{minutes // 60:02d}:{minutes % 60:02d}"
