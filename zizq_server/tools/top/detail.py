"""The detail panel (``i``): the cursor's job, attributes and payload.

ADMIN_AND_CLI.md 7.2 item 8. Left, ``ATTRIBUTES``: the fields the
server sends in detail mode, the optional ones only when present; right,
``PAYLOAD``, pretty-printed JSON, or ``(not loaded)`` when the server left
it out (the real server always does). ``height`` is worked out here too:
at most 13 rows or 30% of the space the table and panel share, and none
when the table would keep fewer than 3 rows.
"""

import json

from rich.table import Table
from rich.text import Text

from . import format

MAX_ROWS = 13
MIN_TABLE_ROWS = 3
STATUS = {"in_flight": "in_flight", "ready": "ready", "scheduled": "scheduled"}


def height(content_rows: int) -> int:
    rows = min(MAX_ROWS, content_rows * 3 // 10)
    return rows if content_rows - rows >= MIN_TABLE_ROWS else 0


def attributes(job: dict, list_name: str) -> list:
    """``(label, value)`` pairs, in the panel's order."""
    pairs = [
        ("ID", job["id"]),
        ("Queue", job.get("queue", "")),
        ("Type", job.get("job_type", "")),
        ("Priority", str(job["priority"])),
        ("Status", STATUS[list_name]),
        ("Ready At", format.local_time(job["ready_at"])),
    ]
    if isinstance(job.get("failed_at"), int):
        pairs.append(("Failed At", format.local_time(job["failed_at"])))
    if isinstance(job.get("dequeued_at"), int):
        pairs.append(("Dequeued At", format.local_time(job["dequeued_at"])))
    attempts = job.get("attempts", 0)
    limit = job.get("retry_limit")
    pairs.append(
        (
            "Attempts / Retry Limit",
            f"{attempts}/{limit}" if limit is not None else f"{attempts}",
        )
    )
    backoff = job.get("backoff")
    if isinstance(backoff, dict):
        base = format.duration(backoff.get("base_ms"))
        jitter = format.duration(backoff.get("jitter_ms"))
        exponent = backoff.get("exponent")
        pairs.append(("Backoff", f"base={base},exponent={exponent},jitter={jitter}"))
    retention = job.get("retention")
    if isinstance(retention, dict):
        completed = format.duration(retention.get("completed_ms"))
        dead = format.duration(retention.get("dead_ms"))
        pairs.append(("Retention Policy", f"completed={completed}, dead={dead}"))
    if job.get("unique_key") is not None:
        pairs.append(
            ("Unique Key", f"{job.get('unique_while', 'queued')} {job['unique_key']}")
        )
    return pairs


def payload(job: dict) -> str:
    if "payload" not in job:
        return "(not loaded)"
    return json.dumps(job["payload"], indent=2, ensure_ascii=False)


def render(job, list_name: str, rows: int):
    """The panel for ``job`` (None: an empty panel) in ``rows`` rows."""
    grid = Table.grid(expand=True, padding=(0, 2))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    left = Text("ATTRIBUTES", style="bold")
    right = Text("PAYLOAD", style="bold")
    if job is not None:
        for label, value in attributes(job, list_name)[: rows - 1]:
            left.append(f"\n{label}: ", style="bold")
            left.append(value)
        lines = payload(job).splitlines()[: rows - 1]
        right.append("\n" + "\n".join(lines))
    grid.add_row(left, right)
    return grid
