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
so is the 16-byte schedule record of the entries that fired (next, now:
the same bytes for all of them); only that record is rewritten, straight
into the batch (its key is the due key's bytes behind ``SCHEDULE_TAG``),
not through ``Crons.save_entry``'s general bookkeeping.
"""

from ..cron import expression
from ..cron.records import encode_schedule, schedule_record
from . import cron, enqueue, unique  # cron: partly imported here, read at call time


def fire_due(crons, now_ms: int, limit: int) -> list:
    """Fire up to ``limit`` due entries; ``(group, entry, next_enqueue_at)``
    of each that enqueued a job, in firing order."""
    due = crons.due.pop_due(now_ms, limit)
    if not due:
        return []
    groups = crons.groups
    writes = crons.store.ks.pending_writes()
    tag = cron.SCHEDULE_TAG
    index = crons.due.add
    nexts = {}  # (expression, zone) -> (next occurrence, a fired entry's record)
    fired = []
    requests = []
    for key in due:
        group_name, _, entry_name = key.partition("\0")  # store.cron.due_key
        group = groups[group_name]
        entry = group.entries[entry_name]
        schedule = (entry.expression, entry.timezone)
        known = nexts.get(schedule)
        if known is None:
            next_at = expression.next_after(*schedule, now_ms)
            known = nexts[schedule] = (next_at, schedule_record(next_at, now_ms))
        next_at, record = known
        entry.next_enqueue_at = next_at
        if group.paused or entry.paused:
            record = encode_schedule(entry)
        else:
            requests.append(entry.job)
            entry.last_enqueue_at = now_ms
            fired.append((group_name, entry))
        writes[tag + key.encode()] = record  # store.cron.schedule_key
        if next_at is not None:
            index(key, next_at)
    if requests:
        jobs = enqueue.apply(crons.store, requests, now_ms)
        crons.store.totals.enqueued += unique.made(jobs)  # as Store.enqueue
    return [(g, e.name, e.next_enqueue_at) for g, e in fired]

