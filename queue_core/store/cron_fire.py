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

A busy second (10,000 entries due at once) is the case to be cheap in: the
next occurrence is computed once per expression and zone in a pass, and
only an entry's 16-byte schedule record is rewritten, straight into the
batch (its key is the due key's bytes behind the tag), not through
``Crons.save_entry``'s general bookkeeping.
"""

from ..cron import expression
from ..cron.records import encode_schedule
from . import enqueue, unique


def fire_due(crons, now_ms: int, limit: int) -> list:
    """Fire up to ``limit`` due entries; ``(group, entry, next_enqueue_at)``
    of each that enqueued a job, in firing order."""
    due = crons.due.pop_due(now_ms, limit)
    if not due:
        return []
    groups = crons.groups
    writes = crons.store.ks.pending_writes()
    index = crons.due.add
    nexts = {}  # (expression, zone) -> next occurrence, for this pass
    fired = []
    requests = []
    for key in due:
        group_name, _, entry_name = key.partition("\0")  # store.cron.due_key
        group = groups[group_name]
        entry = group.entries[entry_name]
        if not (group.paused or entry.paused):
            requests.append(entry.job)
            entry.last_enqueue_at = now_ms
            fired.append((group_name, entry))
        schedule = (entry.expression, entry.timezone)
        next_at = nexts.get(schedule, False)
        if next_at is False:
            next_at = nexts[schedule] = expression.next_after(*schedule, now_ms)
        entry.next_enqueue_at = next_at
        writes[b"S" + key.encode()] = encode_schedule(entry)  # store.cron.schedule_key
        if next_at is not None:
            index(key, next_at)
    if requests:
        jobs = enqueue.apply(crons.store, requests, now_ms)
        crons.store.totals.enqueued += unique.made(jobs)  # as Store.enqueue
    return [(g, e.name, e.next_enqueue_at) for g, e in fired]
