"""Start-up: rebuild the in-memory indexes and return orphans to ``ready``.

Unique keys are loaded first, and each holder is looked for in the scan
(``unique.verify``), so a key never outlives its holder's hold; orphans
then take their keys back through ``records.save`` like any requeue.
Batch targets likewise (``batch.verify``): a target must be a ready job;
an orphan never becomes one again.

Only the ``I`` index is scanned: its keys give status, queue and id, its
values priority and ``ready_at``, so no job record is decoded except those
of jobs that were in flight when the previous process stopped. Those go
back to ``ready`` (keeping their place in line) before anything is served,
with the ``dequeued_at`` their ``in_flight`` entry holds (API.md 4.3: a
requeue keeps ``attempts``, ``ready_at`` and ``dequeued_at``). Take does not
rewrite the record, so the record's ``dequeued_at`` is an earlier take's, or
unset; it stays only when the entry predates the field (an older store).
"""

from dataclasses import dataclass

from .. import codec
from ..types import IN_FLIGHT, READY, SCHEDULED
from . import batch, records, unique


@dataclass(frozen=True)
class RecoveryReport:
    orphans: int
    ready: int
    scheduled: int


def recover(store) -> RecoveryReport:
    counts = store.counts
    orphans = []
    holders = unique.load(store)
    holder_statuses = {}
    targets = batch.load(store)
    ready_targets = set()
    for key, value in store.ks.scan(codec.INDEX_TAG, codec.INDEX_TAG + b"\xff"):
        status, queue, job_id = codec.parse_index_key(key)
        counts[(queue, status)] = counts.get((queue, status), 0) + 1
        if holders and job_id in holders:
            holder_statuses[job_id] = status
        if status == READY:
            store.ready.add(job_id, queue, codec.parse_index_value(value)[0])
            if targets and job_id in targets:
                ready_targets.add(job_id)
        elif status == SCHEDULED:
            store.scheduled.add(job_id, codec.parse_index_value(value)[1])
        elif status == IN_FLIGHT:
            orphans.append((job_id, codec.parse_in_flight_value(value)[2]))
    unique.verify(store, holders, holder_statuses)
    batch.verify(store, targets, ready_targets)
    for job_id, dequeued_at in orphans:
        job = records.load(store, job_id)
        job.status = READY
        if dequeued_at is not None:
            job.dequeued_at = dequeued_at
        records.save(store, job, IN_FLIGHT, job.queue, job.purge_at)
        store.ready.add(job.id, job.queue, job.priority)
    store.ks.flush()
    return RecoveryReport(len(orphans), len(store.ready), len(store.scheduled))
