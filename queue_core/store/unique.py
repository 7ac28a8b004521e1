"""Unique keys (API.md 7.2.4): which job holds a key, and when it lets go.

A key is held by at most one job, its holder, and only while the holder's
status is one its own scope holds: ``queued`` while scheduled or ready,
``active`` while in flight too, ``exists`` in every status until the job
is deleted. An incoming enqueue with scope S is a duplicate of the holder
iff the holder's status is in S's conflict set, which is the same table
read for S (``STATUSES``). A new job becomes the key's holder even when
an earlier job still held it at a status outside the newcomer's conflict
set (an ``exists`` holder that completed, say): "it becomes the holder".

Persisted as ``U <key utf-8>`` -> holder id (25 ASCII bytes) + scope byte
(the codec builds both: ``holder_key``, ``holder_value``), put and deleted
in the same turn's batch as the job change that causes it, so a crash can
never split a key from its job. In memory it is
``store.unique`` (key -> holder id), loaded and checked against the
``I`` index at start-up (``load``, ``verify``).

The rules live here; the transitions reach them through ``records``:
every status change of a keyed job calls ``moved`` (``refile`` is take's,
``drop`` any deletion), so no operation can forget a key. A job without a
key pays one attribute test per transition; an enqueue without keys one
compiled pass over its requests (``codec.keyed``), and one with keys two
more (``Plan``).
"""

from functools import partial

from ..codec import (
    UNIQUE_SCOPE_BYTES,
    UNIQUE_TAG,
    claim_unique,
    holder_key,
    holder_value,
    plan_unique,
    unique_results,
)
from ..defaults import DEFAULT_UNIQUE_WHILE
from ..types import COMPLETED, DEAD, IN_FLIGHT, READY, SCHEDULED
from . import records  # which imports this module for its hooks: use late

TAG = UNIQUE_TAG

# The statuses in which a job of each scope holds its key; also each
# scope's conflict set for an incoming enqueue.
STATUSES = {
    "queued": frozenset((SCHEDULED, READY)),
    "active": frozenset((SCHEDULED, READY, IN_FLIGHT)),
    "exists": frozenset((SCHEDULED, READY, IN_FLIGHT, COMPLETED, DEAD)),
}
_SCOPES = {byte[0]: scope for scope, byte in UNIQUE_SCOPE_BYTES.items()}
_ID_LEN = 25


class Enqueued(list):
    """An enqueue's jobs in input order (new or existing), which are
    duplicates and, when it had batched jobs (``batch``), which were folded
    into a target: a plain list is an enqueue that made only new jobs."""

    __slots__ = ("duplicates", "folded")

    def __init__(self, jobs, duplicates, folded=None) -> None:
        super().__init__(jobs)
        self.duplicates = duplicates  # a list of bools, one per job
        self.folded = folded  # the same, or None: nothing folded


def made(jobs) -> int:
    """How many of an enqueue's jobs are new (duplicates and folds made
    nothing)."""
    if type(jobs) is not Enqueued:
        return len(jobs)
    if jobs.folded is None:
        return jobs.duplicates.count(False)
    return sum(not (d or f) for d, f in zip(jobs.duplicates, jobs.folded))


class Plan:
    """Which requests of an enqueue make new jobs, and which are duplicates.

    Decided before any job is made, so a bulk stays all or nothing. A later
    request with the key of an earlier one in the same call is that one's
    duplicate whatever its scope (API.md 7.2.3). Both halves are compiled
    passes (``codec.plan_unique``, ``codec.claim_unique``): a bulk runs them
    once a request.
    """

    def __init__(self, store, requests) -> None:
        self.fresh, self._outcomes = plan_unique(
            requests, store.unique, partial(_duplicated, store)
        )

    def claim(self, store, jobs) -> list:
        """Make each new keyed job its key's holder; the call's results.

        ``jobs`` are the new jobs of ``fresh``, not yet filed: a ready one
        may be taken as soon as it is, and must hold its key by then. An
        omitted scope becomes ``queued`` here, before the job is stored.
        With no duplicate the results are ``jobs`` themselves.
        """
        claim_unique(jobs, store.unique, store.ks.pending_writes())
        if self._outcomes is None:
            return jobs
        return Enqueued(*unique_results(self._outcomes, jobs))


def _duplicated(store, holder_id: str, request):
    """The key's holder if ``request`` is its duplicate (the holder's status
    is in the conflict set of the request's scope), else None."""
    holder = records.load(store, holder_id)
    scope = request.unique_while or DEFAULT_UNIQUE_WHILE
    if holder is not None and holder.status in STATUSES[scope]:
        return holder
    return None


def acquire(store, job) -> None:
    """``job`` becomes its key's holder."""
    store.unique[job.unique_key] = job.id
    store.ks.put(holder_key(job.unique_key), holder_value(job.id, job.unique_while))


def release(store, job) -> None:
    """``job`` lets go of its key, if it holds it."""
    if store.unique.get(job.unique_key) == job.id:
        del store.unique[job.unique_key]
        store.ks.delete(holder_key(job.unique_key))


def moved(store, job) -> None:
    """A keyed job changed status: let go, or take the key back if free.

    Taking it back is the rule for a ``queued`` job rescheduled by a failure
    or returned to ``ready`` (a dropped stream, start-up recovery): the key
    is its own again unless another job took it meanwhile.
    """
    if job.status in STATUSES[job.unique_while]:
        if job.unique_key not in store.unique:
            acquire(store, job)
    else:
        release(store, job)


def load(store) -> dict:
    """Fill ``store.unique`` from the ``U`` range; holder id -> (key, scope)."""
    holders = {}
    for stored_key, value in store.ks.scan(TAG, TAG + b"\xff"):
        unique_key = stored_key[1:].decode()
        job_id = value[:_ID_LEN].decode()
        store.unique[unique_key] = job_id
        holders[job_id] = (unique_key, _SCOPES[value[_ID_LEN]])
    return holders


def verify(store, holders: dict, statuses: dict) -> int:
    """Drop the keys whose holder is gone or no longer holds; how many.

    ``statuses`` maps each holder id the index scan met to its status. A
    store written by this code never needs it (keys and jobs share their
    batches), so this is a check that a damaged store cannot fool.
    """
    dropped = 0
    for job_id, (unique_key, scope) in holders.items():
        status = statuses.get(job_id)
        if status is None or status not in STATUSES[scope]:
            del store.unique[unique_key]
            store.ks.delete(holder_key(unique_key))
            dropped += 1
    return dropped
