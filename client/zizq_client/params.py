"""Request bodies from Python values: job parameters (API.md 7.2.1), patch
bodies (7.5.1) and failure reports (7.3.4).

Options are omitted when unset so the server's defaults apply at the time
they are needed, as the API intends; durations and times accept the forms
``models.to_ms`` and ``models.to_timestamp_ms`` read.
"""

from .models import Backoff, Retention, now_ms, to_ms, to_timestamp_ms

_UNSET = object()


def _wire(option):
    return option.to_wire() if hasattr(option, "to_wire") else option


def job_params(
    *,
    queue: str,
    type: str,
    payload,
    priority: int | None = None,
    ready_at=None,
    delay=None,
    retry_limit: int | None = None,
    backoff: Backoff | dict | None = None,
    retention: Retention | dict | None = None,
    unique_key: str | None = None,
    unique_while: str | None = None,
    batch: dict | None = None,
) -> dict:
    """One job's parameters; ``delay`` (a duration) is ``ready_at`` from now."""
    params = {"queue": queue, "type": type, "payload": payload}
    if priority is not None:
        params["priority"] = int(priority)
    if delay is not None:
        params["ready_at"] = now_ms() + to_ms(delay)
    elif ready_at is not None:
        params["ready_at"] = to_timestamp_ms(ready_at)
    if retry_limit is not None:
        params["retry_limit"] = int(retry_limit)
    if backoff is not None:
        params["backoff"] = _wire(backoff)
    if retention is not None:
        params["retention"] = _wire(retention)
    if unique_key is not None:
        params["unique_key"] = unique_key
        params["unique_while"] = unique_while or "queued"
    if batch is not None:
        params["batch"] = batch
    return params


def patch_body(
    *,
    queue=_UNSET,
    priority=_UNSET,
    ready_at=_UNSET,
    retry_limit=_UNSET,
    backoff=_UNSET,
    retention=_UNSET,
) -> dict:
    """A merge patch: an omitted field is unchanged, ``None`` resets it."""
    patch = {}
    for name, value in (
        ("queue", queue),
        ("priority", priority),
        ("retry_limit", retry_limit),
        ("backoff", backoff),
        ("retention", retention),
    ):
        if value is not _UNSET:
            patch[name] = _wire(value)
    if ready_at is not _UNSET:
        patch["ready_at"] = None if ready_at is None else to_timestamp_ms(ready_at)
    return patch


def failure_body(
    message: str,
    *,
    error_type: str | None = None,
    backtrace: str | None = None,
    retry_at=None,
    kill: bool = False,
) -> dict:
    body = {"message": message}
    if error_type is not None:
        body["error_type"] = error_type
    if backtrace is not None:
        body["backtrace"] = backtrace
    if retry_at is not None:
        body["retry_at"] = to_timestamp_ms(retry_at)
    if kill:
        body["kill"] = True
    return body
