"""Firing due cron entries (API.md 7.6.1).

One pass takes the entries whose ``next_enqueue_at`` has come, earliest
first. Each one that neither it nor its group pauses enqueues one job of
its template, ready now, and records ``last_enqueue_at = now``; every one,
paused or not, moves to its next occurrence strictly after now. So an
entry found overdue, however long ago it was due (downtime, a lapsed
licence), enqueues one job and no back-fill.

The jobs of a pass go through ``enqueue.apply`` in one call, the operation
``POST /jobs/bulk`` uses (whatever it does with unique keys applies to them
too), and the entries' new records are written right after, with nothing
awaited in between: both land in the same write batch, so a crash either
fires an occurrence and moves its schedule, or neither.

Templates with a ``batch`` fold (API.md 7.6.1), which needs jq, which is
awaited: ``batched_due`` finds the batch templates the next pass would fire,
without changing anything, ``batch.enqueue`` plans their folds under their
keys' locks, and the pass runs as its ``write`` step, folds included, in
one synchronous step; if by then the pass would fire other batch templates
(an entry was changed meanwhile) it writes nothing and is planned again
(``Crons.fire_due``). Only a store that has had a batch template since it
started looks for them (``Crons.batched``).

A busy second (10,000 entries due at once) is the case to be cheap in: the
next occurrence is computed once per expression and zone in a pass, and
so is the 16-byte schedule record of the entries that fired (next, now:
the same bytes for all of them); only that record is rewritten, straight
into the batch (its key is the due key's bytes behind ``SCHEDULE_TAG``),
not through ``Crons.save_entry``'s general bookkeeping.
"""

import operator

from ..cron import expression
from ..cron.records import encode_schedule, schedule_record
from . import batch, cron, enqueue, unique  # cron: partly imported here


def batched_due(crons, now_ms: int, limit: int) -> list:
    """The batch templates a pass would fire now, in firing order; the due
    index is left as it was."""
    due = crons.due.pop_due(now_ms, limit)
    templates = []
    for key in due:
        group_name, _, entry_name = key.partition("\0")
        group = crons.groups[group_name]
        entry = group.entries[entry_name]
        if entry.job.batch is not None and not (group.paused or entry.paused):
            templates.append(entry.job)
        crons.due.add(key, entry.next_enqueue_at)
    return templates


def fire_due(crons, now_ms: int, limit: int, planned=None, fold=None):
    """Fire up to ``limit`` due entries; ``(group, entry, next_enqueue_at)``
    of each that enqueued a job, in firing order.

    ``planned``: the batch templates ``batched_due`` found, written by
    ``fold()`` (None: as new jobs, which become their keys' targets); None,
    writing nothing, when the pass would fire others now.
    """
    if planned is not None and not _same(batched_due(crons, now_ms, limit), planned):
        return None
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
            if fold is None or entry.job.batch is None:
                requests.append(entry.job)
            entry.last_enqueue_at = now_ms
            fired.append((group_name, entry_name, next_at))
        writes[tag + key.encode()] = record  # store.cron.schedule_key
        if next_at is not None:
            index(key, next_at)
    store = crons.store
    if requests:
        claim = batch.claim if planned else None
        jobs = enqueue.apply(store, requests, now_ms, claim=claim)
        store.totals.enqueued += unique.made(jobs)  # as Store.enqueue
    if fold is not None:
        store.totals.enqueued += unique.made(fold())
    return fired


def _same(templates: list, planned: list) -> bool:
    return len(templates) == len(planned) and all(map(operator.is_, templates, planned))

