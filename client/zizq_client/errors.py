"""Exceptions raised by the client, one per error status of the Zizq API.

Every exception derives from ``ZizqError``. HTTP answers map onto
``ApiError`` subclasses through the one table ``STATUS_ERRORS``, so callers
can catch ``NotFound`` or ``Conflict`` without reading status
codes; network failures surface as ``ConnectionFailed`` so a worker can tell
"server away, back off and reconnect" from "request refused, do not retry".
"""


class ZizqError(Exception):
    """Root of every exception this package raises."""


class ConnectionFailed(ZizqError):
    """Raised when the server cannot be reached or the connection drops."""


class ApiError(ZizqError):
    """Raised when the server answers with an error status."""

    status = 0

    def __init__(self, status: int, message: str, body=None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body


class BadRequest(ApiError):
    """Raised on 400: the request body, query or a name failed validation."""


class Forbidden(ApiError):
    """Raised on 403: a pro feature was used without a valid licence."""


class NotFound(ApiError):
    """Raised on 404: no such job, error record or path."""


class MethodNotAllowed(ApiError):
    """Raised on 405: the path exists but not with this method."""


class NotAcceptable(ApiError):
    """Raised on 406: the server cannot answer in the requested format."""


class UnsupportedMediaType(ApiError):
    """Raised on 415: the server cannot read the request body's format."""


class Conflict(ApiError):
    """Raised on 409: the thing to create exists already (a cron entry)."""


class Unprocessable(ApiError):
    """Raised on 422: a valid request the job's state or a jq batch refused."""


class AcksNotFound(Unprocessable):
    """Raised on a bulk ack's 422: some ids were not in flight (the rest were
    acknowledged); ``not_found`` lists them."""

    def __init__(self, status: int, message: str, body=None) -> None:
        super().__init__(status, message, body)
        self.not_found = list((body or {}).get("not_found", []))


class ServerError(ApiError):
    """Raised on 5xx: the server failed; the request may be retried."""


class RequeueFailed(ZizqError):
    """Raised by ``requeue_copy`` when a unique job was deleted but its copy
    could not be enqueued; ``job`` is the original, with its payload."""

    def __init__(self, job, cause: Exception) -> None:
        super().__init__(f"job {job.id} deleted, its copy not enqueued: {cause}")
        self.job = job


class PayloadInvalid(ZizqError, ValueError):
    """Raised when a typed job's payload does not match its type: at
    enqueue, or in the worker, which then kills the job (a retry of the
    same payload would fail the same way)."""


class NotSupported(ZizqError):
    """Raised by the testing client for calls it deliberately cannot fake."""


class UnknownJobType(ZizqError):
    """Raised when a worker receives a job type no job is registered for."""


STATUS_ERRORS = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    415: UnsupportedMediaType,
    422: Unprocessable,
}


def error_for(status: int, body, path: str) -> ApiError:
    """The exception for an error answer with decoded ``body`` (or None)."""
    if isinstance(body, dict) and "error" in body:
        message = str(body["error"])
    elif isinstance(body, dict) and "not_found" in body:
        return AcksNotFound(status, "job not found in in-flight set", body)
    else:
        message = f"{path} answered {status}"
    if status >= 500:
        return ServerError(status, message, body)
    return STATUS_ERRORS.get(status, ApiError)(status, message, body)
