"""The depth indicator: a scrollbar for queue depth (ADMIN_AND_CLI.md 7.2).

Three lines: a ``▼`` marker, ``  Depth[<bars>  <N> jobs]``, a ``▲``
marker. The bars are ``│`` in three coloured segments, in-flight, ready
and scheduled, one bar a job while the jobs fit the bar (at most
``MAX_BAR`` columns and what the terminal leaves), otherwise each segment
in proportion (a non-empty list keeps at least one bar). The markers sit
over the cursor: its position in the active tab's list mapped into that
tab's segment.
"""

from rich.text import Text

MAX_BAR = 120
_PREFIX = "  Depth["
SEGMENTS = (("in_flight", "yellow"), ("ready", "green"), ("scheduled", "blue"))


def widths(counts: list, bar: int) -> list:
    """Each segment's columns for ``counts`` jobs in a bar of ``bar``."""
    total = sum(counts)
    if total <= bar:
        return list(counts)
    out = [max(1, count * bar // total) if count else 0 for count in counts]
    while sum(out) > bar:
        out[out.index(max(out))] -= 1
    return out


def render(counts: list, active: int, cursor: int, width: int) -> Text:
    total = sum(counts)
    suffix = f"  {total} jobs]"
    bar = max(0, min(MAX_BAR, width - len(_PREFIX) - len(suffix)))
    columns = widths(counts, bar)
    middle = Text(_PREFIX)
    for (_name, colour), size in zip(SEGMENTS, columns):
        middle.append("│" * size, style=colour)
    middle.append(" " * (bar - sum(columns)) + suffix)
    marker = _marker_column(counts, columns, active, cursor)
    top = Text(" " * marker + "▼" if marker is not None else "")
    bottom = Text(" " * marker + "▲" if marker is not None else "")
    return Text("\n").join([top, middle, bottom])


def _marker_column(counts, columns, active: int, cursor: int):
    if not counts[active] or not columns[active]:
        return None
    start = len(_PREFIX) + sum(columns[:active])
    within = min(cursor, counts[active] - 1) * columns[active] // counts[active]
    return start + within
