"""What the admin asks of the store: coroutine functions run on its loop.

Each one is what an HTTP handler of the API does for the same request
(``api/primary/query.py``, ``modify.py``), but for reviving a dead job
and killing a waiting one, which the API cannot do: filters arrive in the API's own
query language and are parsed by ``queue_core.filters``, patches are
decoded and checked by the API's serializers, so the admin refuses exactly
what the API refuses, with the API's message (a ``QueueError``, or the
``BodyError`` of a body decoder), raised here as ``Refused``. Views call
these through ``bridge.call``.
"""

import time

from queue_core import filters
from queue_core.types import DEAD, STATUS_NAMES

from .. import __version__
from ..api import serializers
from ..api.negotiation import BodyError
from ..licence import CRON_SCHEDULING
from ..runtime import runtime
from . import display

_LAST_ERROR = filters.ErrorListOptions(order=filters.DESC, limit=1)
_ALL_ERRORS = filters.ErrorListOptions(order=filters.ASC, limit=2000)


class Refused(Exception):
    """A request the API would answer with a 4xx; ``message`` is its text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def overview() -> dict:
    """Per-queue status counts and the server's vital signs."""
    store = runtime.store
    queues = {}
    for (queue, status), number in store.counts.items():
        queues.setdefault(queue, dict.fromkeys(STATUS_NAMES, 0))[
            STATUS_NAMES[status]
        ] = number
    totals = dict.fromkeys(STATUS_NAMES, 0)
    for row in queues.values():
        for name, number in row.items():
            totals[name] += number
    return {
        "queues": dict(sorted(queues.items())),
        "totals": totals,
        "version": __version__,
        "uptime_s": int(time.monotonic() - runtime.started_monotonic),
        "tier": runtime.licence.tier,
        "workers": len(runtime.streams),
    }


async def cron_groups(now_ms: int):
    """Every cron group with its entries and their fire times, in name
    order, when the licence allows cron scheduling; else None."""
    if not runtime.licence.allows(CRON_SCHEDULING):
        return None
    crons = runtime.store.crons
    return [
        {
            "name": name,
            "paused": group.paused,
            "entries": [
                _cron_entry(group.entries[entry], now_ms)
                for entry in sorted(group.entries)
            ],
        }
        for name, group in ((name, crons.group(name)) for name in crons.names())
    ]


def _cron_entry(entry, now_ms: int) -> dict:
    return {
        "name": entry.name,
        "expression": entry.expression,
        "timezone": entry.timezone or "UTC",
        "paused": entry.paused,
        "queue": entry.job.queue,
        "type": entry.job.type,
        "next": display.moment(entry.next_enqueue_at, now_ms),
        "last": display.moment(entry.last_enqueue_at, now_ms),
    }


async def job_page(query: str):
    """``GET /jobs?<query>``: the page, whether more follow, and the last
    error record of each job on it that has one."""
    job_filter, options = _parsed(filters.parse_list_query, query)
    page, more = await _refusing(runtime.store.list_jobs(job_filter, options))
    last_errors = {job.id: _last_error(job) for job in page if job.attempts}
    return page, more, last_errors


def _last_error(job):
    records, _more = runtime.store.list_errors(job.id, _LAST_ERROR)
    return records[0] if records else None


async def count(query: str) -> int:
    """``GET /jobs/count?<query>``."""
    job_filter = _parsed(filters.parse_job_filter, query)
    return await _refusing(runtime.store.count(job_filter))


async def job_detail(job_id: str):
    """``GET /jobs/{id}`` and its errors; None for an unknown or malformed id."""
    store = runtime.store
    job = store.get(job_id)
    if job is None:
        return None
    errors, _more = store.list_errors(job_id, _ALL_ERRORS)
    effective = {
        "retry_limit": (store.retry_limit(job), job.retry_limit is None),
        "backoff": (store.backoff(job), job.backoff is None),
        "completed_retention_ms": (
            store.completed_retention_ms(job),
            job.retention is None or job.retention.completed_ms is None,
        ),
        "dead_retention_ms": (
            store.dead_retention_ms(job),
            job.retention is None or job.retention.dead_ms is None,
        ),
    }
    return job, errors, effective


async def patch_one(job_id: str, body: dict):
    """``PATCH /jobs/{id}`` with ``body``."""
    return await _refusing(runtime.store.patch(job_id, _patch(body)))


async def retry_one(job_id: str, now_ms: int):
    """Ready now: a dead job revived (``store.revive``, the one operation the
    API lacks), any other through ``PATCH /jobs/{id}`` with ``ready_at``."""
    store = runtime.store
    job = store.get(job_id)
    if job is not None and job.status == DEAD:
        return await _refusing(store.revive(job_id))
    return await patch_one(job_id, {"ready_at": now_ms})


async def kill_one(job_id: str):
    """To dead now (``store.kill``: an in-flight job through the API's nack
    with ``kill``, a waiting one directly)."""
    return await _refusing(runtime.store.kill(job_id))


async def patch_matching(query: str, body: dict) -> int:
    """``PATCH /jobs?<query>`` with ``body``; how many changed."""
    job_filter = _parsed(lambda q: filters.parse_job_filter(q, for_patch=True), query)
    patch = _patch(body)
    return await _refusing(runtime.store.patch_matching(job_filter, patch))


async def retry_matching(query: str, now_ms: int) -> int:
    """Every match ready now: waiting ones patched, dead ones revived.

    The patch goes first, so a job revived here is not patched again.
    """
    job_filter = _parsed(filters.parse_job_filter, query)
    patch = _patch({"ready_at": now_ms})
    patched = await _refusing(runtime.store.patch_matching(job_filter, patch))
    return patched + await _refusing(runtime.store.revive_matching(job_filter))


async def kill_matching(query: str) -> int:
    """Every waiting or in-flight match to dead now; how many."""
    job_filter = _parsed(filters.parse_job_filter, query)
    return await _refusing(runtime.store.kill_matching(job_filter))


async def delete_one(job_id: str) -> None:
    """``DELETE /jobs/{id}``."""
    await _refusing(runtime.store.delete(job_id))


async def delete_matching(query: str) -> int:
    """``DELETE /jobs?<query>``; how many went."""
    job_filter = _parsed(filters.parse_job_filter, query)
    return await _refusing(runtime.store.delete_matching(job_filter))


def _patch(body: dict):
    try:
        patch = serializers.decode_patch(body)
        serializers.validate_patch(patch)
    except BodyError as exc:
        raise Refused(str(exc)) from None
    except Exception as exc:
        raise _refused(exc) from None
    return patch


def _parsed(parse, query: str):
    try:
        return parse(query)
    except Exception as exc:
        raise _refused(exc) from None


async def _refusing(awaitable):
    try:
        return await awaitable
    except Exception as exc:
        raise _refused(exc) from None


def _refused(exc: Exception) -> Exception:
    message = getattr(exc, "message", None)
    if message is None:
        return exc  # not a refusal: a real fault, left to surface
    return Refused(message)
