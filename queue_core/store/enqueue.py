"""Enqueue: new jobs become records, index entries and ready/scheduled members.

Validation happened in the adapter; here every request of one call gets an
id, a status (``scheduled`` when ``ready_at`` is in the future) and is
written into the turn's batch. Ready jobs are offered to takers at once
(a dispatch pass now, not at the end of the turn: ``Dispatcher.run_now``);
the response waits for the commit (enqueue commit mode).

A call with unique keys is planned first (``unique.Plan``): its duplicates
make no job, and when it has any it returns a ``unique.Enqueued`` that says
which they are.
A call with batched jobs comes through ``batch.enqueue``, which gives the
requests that make jobs and a ``claim`` that makes targets of them.
"""

from ..codec import keyed, new_jobs
from ..ids import new_id
from ..types import READY
from . import events, records, unique


def apply(store, requests, now_ms: int, claim=None) -> list:
    """Write every request; return the new (or duplicated) jobs in input order.

    ``claim(store, jobs)``, if given, sees the new jobs before they are filed.
    """
    if keyed(requests):
        plan = unique.Plan(store, requests)
        jobs = new_jobs(plan.fresh, now_ms, new_id)
        enqueued = plan.claim(store, jobs)
    else:
        jobs = enqueued = new_jobs(requests, now_ms, new_id)
    if claim is not None:
        claim(store, jobs)
    _file(store, jobs)
    return enqueued


def _file(store, jobs) -> None:
    """Index, store, announce and offer new jobs."""
    any_ready = False
    for job in jobs:
        if job.status == READY:
            store.ready.add(job.id, job.queue, job.priority)
            any_ready = True
        else:
            store.add_scheduled(job.id, job.ready_at)
    records.save_new(store, jobs)
    if events.enabled():
        for job in jobs:
            events.job_event("job enqueued", job, type=job.type)
    if any_ready:
        store.dispatcher.run_now()
