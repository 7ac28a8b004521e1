"""Firing due cron entries (API.md 7.6.1).

One pass takes the entries whose ``next_enqueue_at`` has come, earliest
first. Each one that neither it nor its group pauses enqueues one job of
its template, ready now, and records ``last_enqueue_at = now``; every one,
paused or not, moves to its next occurrence strictly after now. So an
entry found overdue, however long ago it was due (downtime, a lapsed
licence), enqueues one job and no back-fill.

The jobs of a pass go through ``enqueue.apply`` in one call, the operation
``POST /jobs/bulk`` uses (whatever it does with unique keys applies to them
too), beside the pass's fire record (``Crons.record_pass``: the entries'
new schedules), with nothing awaited in between: both land in the same
write batch, so a crash either fires an occurrence and moves its
schedule, or neither.

Templates with a ``batch`` fold (API.md 7.6.1), which needs jq, which is
awaited: ``batched_due`` finds the batch templates the next pass would fire,
without changing anything, ``batch.enqueue`` plans their folds under their
keys' locks, and the pass runs as its ``write`` step, folds included, in
one synchronous step; if by then the pass would fire other batch templates
(an entry was changed meanwhile) it writes nothing and is planned again
(``Crons.fire_due``). Only a store that has had a batch template since it
started looks for them (``Crons.batched``).

A busy second (10,000 entries due at once) is the case to be cheap in: the
due index hands keys over as runs sliced off its buckets (cron.due), each
key's entry is found in one lookup (``Crons.by_key``) and checked there
(the index keeps the keys of entries changed or deleted since), the next
occurrence is computed once per expression and zone, and the entries
that share it go to its bucket and into the fire record together.
"""

import operator

from ..cron import expression
from . import batch, enqueue, unique


def batched_due(crons, now_ms: int, limit: int) -> list:
    """The batch templates a pass would fire now, in firing order."""
    templates = []
    by_key = crons.by_key
    for key in dict.fromkeys(crons.due.peek_due(now_ms, limit)):  # once each
        group, entry = by_key.get(key, _GONE)
        if _due(entry, now_ms) and entry.job.batch is not None:
            if not (group.paused or entry.paused):
                templates.append(entry.job)
    return templates


def fire_due(crons, now_ms: int, limit: int, planned=None, fold=None):
    """Fire up to ``limit`` due entries; returns ``(next_enqueue_at, due
    keys)`` of those that enqueued a job, a run per schedule.

    ``planned``: the batch templates ``batched_due`` found, written by
    ``fold()`` (None: as new jobs, which become their keys' targets); None,
    writing nothing, when the pass would fire others now.
    """
    if planned is not None and not _same(batched_due(crons, now_ms, limit), planned):
        return None
    due = crons.due.pop_due(now_ms, limit)
    if not due:
        return []
    by_key = crons.by_key
    nexts = {}  # (expression, zone) -> (next occurrence, keys that enqueued)
    kept = {}  # (next, last) -> keys moved without enqueuing (paused)
    requests = []
    for key in due:
        group, entry = by_key.get(key, _GONE)  # Crons.lookup, or gone
        if not _due(entry, now_ms):
            continue  # deleted or moved since its key was indexed (cron.due)
        known = nexts.get(entry.schedule)
        if known is None:
            next_at = expression.next_after(*entry.schedule, now_ms)
            known = nexts[entry.schedule] = (next_at, [])
        next_at = entry.next_enqueue_at = known[0]
        if group.paused or entry.paused:
            kept.setdefault((next_at, entry.last_enqueue_at), []).append(key)
        else:
            if fold is None or entry.job.batch is None:
                requests.append(entry.job)
            entry.last_enqueue_at = now_ms
            known[1].append(key)
    fired = [known for known in nexts.values() if known[1]]
    moves = kept  # (next, last) -> keys, the fire record (store.cron.record_pass)
    for next_at, keys in fired:  # schedules may share their next occurrence
        moves.setdefault((next_at, now_ms), []).extend(keys)
    if moves:
        crons.record_pass(moves)
    store = crons.store
    if requests:
        claim = batch.claim if planned else None
        jobs = enqueue.apply(store, requests, now_ms, claim=claim)
        store.totals.enqueued += unique.made(jobs)  # as Store.enqueue
    if fold is not None:
        store.totals.enqueued += unique.made(fold())
    return fired


_GONE = (None, None)  # what by_key has for a deleted entry's key


def _due(entry, now_ms: int) -> bool:
    """Whether a key taken from the index still has a due entry."""
    return entry is not None and entry.next_enqueue_at is not None and (
        entry.next_enqueue_at <= now_ms
    )


def _same(templates: list, planned: list) -> bool:
    return len(templates) == len(planned) and all(map(operator.is_, templates, planned))

