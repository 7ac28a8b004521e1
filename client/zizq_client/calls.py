"""Every API call as data: method, path, query, body and how to read the
answer.

The sync and asyncio clients differ only in how they send a request, so
each call is built once here and both clients hand it to their own
``_send``. Parsing stays next to the request it belongs to, which keeps the
wire contract (API.md 7) readable in one place.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .cron import CronEntry, CronGroup
from .models import ErrorRecord, Job

STATUSES = ("scheduled", "ready", "in_flight", "completed", "dead")
_FILTERS = ("id", "queue", "type", "status", "priority", "ready_at", "attempts")


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    parse: Callable[[Any], Any]
    params: dict | None = None
    body: Any = None


def _none(_body) -> None:
    return None


def _job_path(job_id: str, suffix: str = "") -> str:
    return f"/jobs/{quote(str(job_id), safe='')}{suffix}"


def _comma(value) -> str:
    if isinstance(value, str):
        return value
    return ",".join(str(getattr(v, "type_name", v)) for v in value)


def _range(value) -> str:
    if isinstance(value, (str, int)):
        return str(value)
    low, high = value
    return f"{'' if low is None else low}..{'' if high is None else high}"


def filter_params(filters: dict) -> dict:
    """Query parameters for the shared filters of API.md 7.4.1.

    Lists may be strings ("a,b") or sequences; ranges an int, a string
    ("5..") or a ``(low, high)`` pair with None for an open end; ``filter``
    (or its alias ``payload``) is a jq expression over the payload.
    """
    params = {}
    for name, value in filters.items():
        if value is None:
            continue
        if name in ("filter", "payload"):
            params["filter"] = value
        elif name in ("priority", "ready_at", "attempts"):
            params[name] = _range(value)
        elif name in _FILTERS:
            params[name] = _comma(value)
        else:
            raise TypeError(f"unknown filter {name!r}")
    return params


def health() -> Call:
    return Call("GET", "/health", lambda body: body)


def version() -> Call:
    return Call("GET", "/version", lambda body: body["version"])


def enqueue(params: dict) -> Call:
    return Call("POST", "/jobs", Job, body=params)


def enqueue_bulk(jobs: list) -> Call:
    def parse(body):
        return [Job(job) for job in body["jobs"]]

    return Call("POST", "/jobs/bulk", parse, body={"jobs": jobs})


def ack(job_id: str) -> Call:
    return Call("POST", _job_path(job_id, "/success"), _none)


def ack_bulk(ids: list) -> Call:
    return Call("POST", "/jobs/success", _none, body={"ids": list(ids)})


def nack(job_id: str, failure: dict) -> Call:
    return Call("POST", _job_path(job_id, "/failure"), Job, body=failure)


def queues() -> Call:
    return Call("GET", "/queues", lambda body: body["queues"])


def list_jobs(params: dict) -> Call:
    def parse(body):
        return [Job(job) for job in body["jobs"]], body["pages"]["next"]

    return Call("GET", "/jobs", parse, params=params)


def count(params: dict) -> Call:
    return Call("GET", "/jobs/count", lambda body: body["count"], params=params)


def get(job_id: str) -> Call:
    return Call("GET", _job_path(job_id), Job)


def errors_page(job_id: str, params: dict) -> Call:
    def parse(body):
        records = [ErrorRecord.from_wire(e) for e in body["errors"]]
        return records, body["pages"]["next"]

    return Call("GET", _job_path(job_id, "/errors"), parse, params=params)


def error(job_id: str, attempt: int) -> Call:
    path = _job_path(job_id, f"/errors/{int(attempt)}")
    return Call("GET", path, ErrorRecord.from_wire)


def update(job_id: str, patch: dict) -> Call:
    return Call("PATCH", _job_path(job_id), Job, body=patch)


def update_all(params: dict, patch: dict) -> Call:
    return Call("PATCH", "/jobs", lambda b: b["patched"], params=params, body=patch)


def delete(job_id: str) -> Call:
    return Call("DELETE", _job_path(job_id), _none)


def delete_all(params: dict) -> Call:
    return Call("DELETE", "/jobs", lambda body: body["deleted"], params=params)


def _cron_path(group: str, entry: str | None = None) -> str:
    path = f"/crons/{quote(str(group), safe='')}"
    if entry is not None:
        path += f"/entries/{quote(str(entry), safe='')}"
    return path


def crons() -> Call:
    return Call("GET", "/crons", lambda body: body["crons"])


def delete_crons() -> Call:
    return Call("DELETE", "/crons", lambda body: body["deleted"])


def cron(group: str) -> Call:
    return Call("GET", _cron_path(group), CronGroup.from_wire)


def put_cron(group: str, entries: list, paused: bool | None) -> Call:
    body = {"entries": [entry.to_wire() for entry in entries]}
    if paused is not None:
        body["paused"] = paused
    return Call("PUT", _cron_path(group), CronGroup.from_wire, body=body)


def pause_cron(group: str, entry: str | None, paused: bool) -> Call:
    parse = CronGroup.from_wire if entry is None else CronEntry.from_wire
    return Call("PATCH", _cron_path(group, entry), parse, body={"paused": paused})


def delete_cron(group: str, entry: str | None) -> Call:
    return Call("DELETE", _cron_path(group, entry), _none)


def add_cron_entry(group: str, entry: CronEntry) -> Call:
    path = _cron_path(group) + "/entries"
    return Call("POST", path, CronEntry.from_wire, body=entry.to_wire())


def cron_entry(group: str, name: str) -> Call:
    return Call("GET", _cron_path(group, name), CronEntry.from_wire)


def put_cron_entry(group: str, entry: CronEntry) -> Call:
    path = _cron_path(group, entry.name)
    return Call("PUT", path, CronEntry.from_wire, body=entry.to_wire())


def reset() -> Call:
    return Call("POST", "/reset", _none)
