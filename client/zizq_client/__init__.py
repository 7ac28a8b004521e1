"""Python client and worker for Zizq job-queue servers.

Declare jobs with ``@job``, enqueue them (one, atomic bulk, scheduled, or
raw for any language), run them with ``Worker`` or ``zizq-worker``, and
query and manage them with ``Client.jobs``. Sync and asyncio throughout;
MessagePack or JSON; HTTP/1.1 or HTTP/2; TLS and mutual TLS.
"""

from .bulk import Bulk, bulk
from .client import AsyncClient, Client
from .context import JobContext, Kill, Retry, current_job
from .cron import CronEntry, CronGroup
from .errors import (
    AcksNotFound,
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    NotSupported,
    PayloadInvalid,
    RequeueFailed,
    ServerError,
    UnknownJobType,
    Unprocessable,
    UnsupportedMediaType,
    ZizqError,
)
from .handle import AsyncJobHandle, JobHandle
from .jobs import (
    JobDefinition,
    configure,
    default_async_client,
    default_client,
    enqueue_raw,
    job,
)
from .middleware import Middleware
from .models import Backoff, Batch, ErrorRecord, Job, Retention, Unique
from .query import AsyncQuery, Query
from .transport import ClientConfig
from .worker import RetryDelays, Worker

__all__ = [
    # connecting
    "AsyncClient", "Client", "ClientConfig", "configure", "default_client",
    "default_async_client",
    # declaring and enqueueing
    "Backoff", "Batch", "Bulk", "JobDefinition", "Retention", "Unique", "bulk",
    "enqueue_raw", "job",
    # running
    "JobContext", "Kill", "Middleware", "Retry", "RetryDelays", "Worker",
    "current_job",
    # scheduling
    "CronEntry", "CronGroup",
    # reading
    "AsyncJobHandle", "AsyncQuery", "ErrorRecord", "Job", "JobHandle", "Query",
    # errors
    "AcksNotFound", "ApiError", "BadRequest", "Conflict", "ConnectionFailed",
    "Forbidden", "MethodNotAllowed", "NotAcceptable", "NotFound", "NotSupported",
    "PayloadInvalid", "RequeueFailed", "ServerError", "UnknownJobType", "Unprocessable",
    "UnsupportedMediaType", "ZizqError",
]  # fmt: skip
