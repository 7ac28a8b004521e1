"""Requeue: in-flight jobs go back to ``ready`` when their stream goes away.

The job keeps its id, priority, attempts, ``ready_at`` and ``dequeued_at``,
so it returns to its original place in line and is usually the next job
delivered. Used on client disconnect and on server shutdown.

Each job leaves the in-flight table only once its ``ready`` record is
written (records are encoded before anything is written), so a job never
ends up in neither place.
"""

from ..types import IN_FLIGHT, READY
from . import events, records


def close_taker(store, taker) -> int:
    """Detach a taker and requeue what it still held; returns how many."""
    dispatcher = store.dispatcher
    dispatcher.remove(taker)
    log = events.enabled()
    for job_id, job in taker.in_flight.items():
        job.status = READY
        records.save(store, job, IN_FLIGHT, job.queue, job.purge_at)
        dispatcher.in_flight.pop(job_id, None)
        store.ready.add(job.id, job.queue, job.priority)
        if log:
            events.job_event("job requeued", job)
    requeued = len(taker.in_flight)
    taker.in_flight.clear()
    taker.outbox.clear()
    if requeued:
        dispatcher.schedule()
    return requeued
