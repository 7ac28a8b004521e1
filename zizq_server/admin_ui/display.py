"""Presentation helpers: times as UTC text plus "in 5 min" / "3 h ago", payloads.

Times go to the page as ISO 8601 in ``<time datetime=...>``; the page's
script rewrites them in the browser's own time zone. A payload is shown
pretty-printed; past ``COLLAPSE_BYTES`` it starts collapsed, and past
``MAX_SHOWN_BYTES`` only its head is shown, so a huge payload never breaks
the page.
"""

import datetime

import orjson

COLLAPSE_BYTES = 2_048
MAX_SHOWN_BYTES = 256 * 1024
_UNITS = ((86_400_000, "d"), (3_600_000, "h"), (60_000, "min"), (1_000, "s"))


def iso(ms):
    if ms is None:
        return None
    try:
        moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None  # beyond what a calendar shows (ready_at at the u64 maximum)
    return moment.isoformat(timespec="seconds")


def relative(ms, now_ms: int) -> str:
    """``in 5 min``, ``3 h ago`` or ``now``: the largest unit, rounded down."""
    if ms is None:
        return ""
    delta = ms - now_ms
    size = abs(delta)
    for unit_ms, name in _UNITS:
        if size >= unit_ms:
            amount = f"{size // unit_ms} {name}"
            return f"in {amount}" if delta > 0 else f"{amount} ago"
    return "now"


def moment(ms, now_ms: int):
    """What a template needs to show a time: ISO text and its relative form."""
    if ms is None:
        return None
    return {"ms": ms, "iso": iso(ms), "relative": relative(ms, now_ms)}


def first_line(text) -> str:
    if not text:
        return ""
    return text.splitlines()[0] if text.strip() else text


def payload(raw: bytes) -> dict:
    """The payload's pretty text, whether to collapse it and whether it was cut."""
    try:
        text = orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        text = raw.decode("utf-8", "replace")
    cut = len(text) > MAX_SHOWN_BYTES
    return {
        "text": text[:MAX_SHOWN_BYTES] if cut else text,
        "collapsed": len(raw) > COLLAPSE_BYTES,
        "cut": cut,
        "size": len(raw),
    }
