"""The tabs and the job table (ADMIN_AND_CLI.md 7.2, items 6 and 7).

The table is laid out ``MIN_WIDTH`` columns wide at least, and a narrower
terminal sees a slice of it from the horizontal scroll offset; the columns
are ``ID  PRIORITY  QUEUE  <time>  ATTEMPTS  TYPE``, the time column
depending on the tab (``DURATION`` since the job was taken, ``DELAY``
since it became ready, ``DUE`` until it runs). Rows the buffer does not
hold yet (a re-subscription in flight) show as ``…``.
"""

from rich.text import Text

from . import format

MIN_WIDTH = 120
TABS = (
    ("in_flight", " In-Flight "),
    ("ready", " Ready "),
    ("scheduled", " Scheduled "),
)
TIME_HEADINGS = {"in_flight": "DURATION", "ready": "DELAY", "scheduled": "DUE"}
_WIDTHS = (27, 10, 24, 14, 10)  # ID, PRIORITY, QUEUE, time, ATTEMPTS; TYPE: the rest


def tabs(active: int) -> Text:
    text = Text()
    for index, (_name, label) in enumerate(TABS):
        text.append(label, style="bold reverse" if index == active else "dim")
        text.append(" ")
    return text


def time_cell(name: str, job: dict, now_ms: int) -> str:
    if name == "in_flight":
        return format.since(job.get("dequeued_at"), now_ms)
    if name == "ready":
        return format.since(job.get("ready_at"), now_ms)
    return format.due(job.get("ready_at"), now_ms)


def _line(cells, width: int) -> str:
    out = "".join(
        str(cell)[: size - 2].ljust(size) for cell, size in zip(cells, _WIDTHS)
    )
    return (out + str(cells[-1])).ljust(width)[:width]


def max_scroll(width: int) -> int:
    return max(0, MIN_WIDTH - width)


def render(job_list, height: int, width: int, scroll: int, now_ms: int) -> Text:
    """The heading and ``height`` rows from the list's top row."""
    name = job_list.name
    full = max(width, MIN_WIDTH)
    heading = ("ID", "PRIORITY", "QUEUE", TIME_HEADINGS[name], "ATTEMPTS", "TYPE")
    lines = [
        Text(_line(heading, full)[scroll : scroll + width], style="bold underline")
    ]
    rows = job_list.rows
    for position in range(job_list.top, job_list.top + height):
        if position >= rows.total or (job_list.capped and position >= rows.end):
            break
        job = rows.at(position)
        if job is None:
            cells = ("…", "", "", "", "", "")
        else:
            cells = (
                job["id"],
                job["priority"],
                job.get("queue", ""),
                time_cell(name, job, now_ms),
                job.get("attempts", ""),
                job.get("job_type", ""),
            )
        style = "reverse" if position == job_list.cursor else ""
        lines.append(Text(_line(cells, full)[scroll : scroll + width], style=style))
    return Text("\n").join(lines)
