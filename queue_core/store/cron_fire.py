"""Firing due cron entries (API.md 7.6.1).

One pass takes the entries whose ``next_enqueue_at`` has come, earliest
first. Each one that neither it nor its group pauses enqueues one job of
its template, ready now, and records ``last_enqueue_at = now``; every one,
paused or not, moves to its next occurrence strictly after now. So an
entry found overdue, however long ago it was due (downtime, a lapsed
licence), enqueues one job and no back-fill.

The jobs of a pass go through ``enqueue.apply`` in one call, the operation
``POST /jobs/bulk`` uses (whatever it does with unique keys or batches
applies to them too), and the entries' new records are written right
after, with nothing awaited in between: both land in the same write batch,
so a crash either fires an occurrence and moves its schedule, or neither.
"""

from ..cron import expression
from . import enqueue


def fire_due(crons, now_ms: int, limit: int) -> list:
    """Fire up to ``limit`` due entries; ``(group, entry, next_enqueue_at)``
    of each that enqueued a job, in firing order."""
    due = crons.due.pop_due(now_ms, limit)
    if not due:
        return []
    fired = []
    requests = []
    for key in due:
        group_name, _, entry_name = key.partition("\0")  # store.cron.due_key
        group = crons.groups[group_name]
        entry = group.entries[entry_name]
        if not (group.paused or entry.paused):
            requests.append(entry.job)
            entry.last_enqueue_at = now_ms
            fired.append((group_name, entry))
        entry.next_enqueue_at = expression.next_after(
            entry.expression, entry.timezone, now_ms
        )
        crons.save_entry(group, entry)
    if requests:
        enqueue.apply(crons.store, requests, now_ms)
    return [(g, e.name, e.next_enqueue_at) for g, e in fired]
