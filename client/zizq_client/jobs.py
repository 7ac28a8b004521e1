"""Declaring jobs: ``@job`` turns a sync or async function into a
``JobDefinition[P, R]`` that enqueues itself with the function's own
signature (ParamSpec), and that a worker can run from a delivered payload.

The payload is ``{"args": [...], "kwargs": {...}}``, the Ruby client's
shape, so Ruby and Python can enqueue each other's jobs; a payload of any
other shape (say, from a Node producer) is passed to the function as its
one argument. A function whose one parameter is a dataclass, TypedDict or
pydantic model sends that object's JSON instead, checked at enqueue and
at dequeue (``payloads``). ``using()`` returns a copy with overrides, like
``django.tasks``' ``Task.using``; defaults for the client that enqueues
come from ``configure()`` or ``ZIZQ_URL``.
"""

import asyncio
import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, ParamSpec, TypeVar

from . import payloads, registry
from .client import AsyncClient, Client
from .models import Backoff, Batch, Retention, Unique
from .params import job_params
from .transport import ClientConfig

P = ParamSpec("P")
R = TypeVar("R")

_defaults: dict = {"config": None, "client": None, "async": {}, "override": None}


def configure(config: ClientConfig | None = None, **options) -> ClientConfig:
    """Set how ``enqueue()`` reaches the server when no client is given."""
    _defaults["config"] = config.using(**options) if config else ClientConfig(**options)
    _defaults["client"] = None
    _defaults["async"] = {}
    return _defaults["config"]


def override_clients(pair) -> object:
    """Make ``pair`` (a sync and an async client) the defaults, or None to
    restore them; returns the previous override (the testing fixture)."""
    previous, _defaults["override"] = _defaults["override"], pair
    return previous


def default_client() -> Client:
    if _defaults["override"] is not None:
        return _defaults["override"][0]
    if _defaults["client"] is None:
        _defaults["client"] = Client(_defaults["config"])
    return _defaults["client"]


def default_async_client() -> AsyncClient:
    """One ``AsyncClient`` per event loop (httpx binds to the loop)."""
    if _defaults["override"] is not None:
        return _defaults["override"][1]
    loop = asyncio.get_running_loop()
    clients = _defaults["async"]
    if loop not in clients:
        clients.clear()
        clients[loop] = AsyncClient(_defaults["config"])
    return clients[loop]


def enqueue_raw(*, queue: str, type: str, payload, **options):
    """Enqueue a job by its wire fields through the default client (a type
    any language may run)."""
    return default_client().enqueue_raw(
        queue=queue, type=type, payload=payload, **options
    )


def payload_of(args: tuple, kwargs: dict) -> dict:
    return {"args": list(args), "kwargs": dict(kwargs)}


_CALL_KEYS = frozenset(("args", "kwargs"))


def arguments_of(payload) -> tuple:
    """``(args, kwargs)`` for a payload, the Ruby shape or any other."""
    if isinstance(payload, dict) and payload and payload.keys() <= _CALL_KEYS:
        return list(payload.get("args", ())), dict(payload.get("kwargs", {}))
    return [payload], {}


def unique_key_for(type_name: str, fn, key, payload, typed: bool = False) -> str:
    """A unique job's key: ``key`` itself when a string, else the type name
    plus a SHA-256 of the arguments (or, ``typed``, the payload's fields)
    named in ``key``, or of all of them when it is None."""
    if isinstance(key, str):
        return key
    if typed:
        covered = payload if key is None else {name: payload[name] for name in key}
    elif key is None:
        covered = [payload["args"], payload["kwargs"]]
    else:
        bound = inspect.signature(fn).bind(*payload["args"], **payload["kwargs"])
        bound.apply_defaults()
        covered = [[], {name: bound.arguments[name] for name in key}]
    data = json.dumps(covered, sort_keys=True, separators=(",", ":"))
    return f"{type_name}:{hashlib.sha256(data.encode()).hexdigest()}"


@dataclass(frozen=True)
class JobOptions:
    queue: str = "default"
    priority: int | None = None
    retry_limit: int | None = None
    backoff: Backoff | None = None
    retention: Retention | None = None
    unique: Unique | None = None
    batch: Batch | None = None
    delay: Any = None
    ready_at: Any = None
    client: Any = None
    database: str | None = None


@dataclass(frozen=True)
class JobDefinition(Generic[P, R]):
    """A declared job; call it to run it here, ``enqueue()`` to queue it."""

    fn: Callable[P, R]
    type_name: str
    options: JobOptions = field(default_factory=JobOptions)
    throws: tuple = ()
    is_async: bool = field(init=False, default=False)
    model: payloads.Model | None = field(init=False, default=None)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    @property
    def qualified_name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    def __post_init__(self) -> None:
        # Read for every delivered job: worked out once.
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.fn))
        object.__setattr__(self, "model", payloads.model_of(self.fn))

    def using(self, **overrides) -> "JobDefinition[P, R]":
        """A copy with other options (queue, priority, delay, ready_at,
        retry_limit, backoff, retention, unique, batch, client, and the Django
        ``database`` alias of ``enqueue_on_commit``)."""
        return replace(self, options=replace(self.options, **overrides))

    def params(self, *args: P.args, **kwargs: P.kwargs) -> dict:
        """The job parameters an enqueue of this call sends."""
        o = self.options
        unique = o.unique
        payload = self.payload(*args, **kwargs)
        return job_params(
            queue=o.queue,
            type=self.type_name,
            payload=payload,
            priority=o.priority,
            delay=o.delay,
            ready_at=o.ready_at,
            retry_limit=o.retry_limit,
            backoff=o.backoff,
            retention=o.retention,
            unique_key=self.unique_key(payload) if unique else None,
            unique_while=unique.while_ if unique else None,
            batch=o.batch.to_wire(payload) if o.batch else None,
        )

    def payload(self, *args: P.args, **kwargs: P.kwargs):
        """The payload of this call (a typed job's object, checked)."""
        if self.model is None:
            return payload_of(args, kwargs)
        bound = inspect.signature(self.fn).bind(*args, **kwargs)
        return self.model.dump(bound.arguments[self.model.name])

    def schema(self) -> dict:
        """The JSON Schema of this job's payload."""
        if self.model is None:
            return payloads.call_schema(self.fn)
        return self.model.schema()

    def unique_key(self, payload) -> str:
        key = self.options.unique.key
        typed = self.model is not None
        return unique_key_for(self.type_name, self.fn, key, payload, typed)

    def enqueue(self, *args: P.args, **kwargs: P.kwargs):
        client = self.options.client or default_client()
        return client.enqueue_params(self.params(*args, **kwargs))

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs):
        client = self.options.client or default_async_client()
        return await client.enqueue_params(self.params(*args, **kwargs))

    def enqueue_on_commit(self, *args: P.args, **kwargs: P.kwargs):
        """In a Django transaction, enqueue when it commits, in ONE bulk
        request with its other jobs (nothing on rollback); at once outside
        one. Returns a ``Deferred`` whose ``job`` is set once sent."""
        from .contrib.django.on_commit import enqueue_on_commit

        client = self.options.client or default_client()
        params = self.params(*args, **kwargs)
        return enqueue_on_commit(client, params, self.options.database)

    def invoke(self, payload) -> R | Awaitable:
        if self.model is not None:
            return self.fn(self.model.load(payload))
        args, kwargs = arguments_of(payload)
        return self.fn(*args, **kwargs)


def job(
    fn: Callable[P, R] | None = None,
    *,
    queue: str = "default",
    type: str | None = None,
    priority: int | None = None,
    retry_limit: int | None = None,
    backoff: Backoff | None = None,
    retention: Retention | None = None,
    unique: Unique | None = None,
    batch: Batch | None = None,
    throws: tuple = (),
):
    """Declare a job; ``type`` defaults to ``"module.function"``. Exceptions
    listed in ``throws`` kill the job instead of retrying it."""

    def declare(fn: Callable[P, R]) -> JobDefinition[P, R]:
        options = JobOptions(
            queue=queue,
            priority=priority,
            retry_limit=retry_limit,
            backoff=backoff,
            retention=retention,
            unique=unique,
            batch=batch,
        )
        type_name = type or f"{fn.__module__}.{fn.__qualname__}"
        definition = JobDefinition(fn, type_name, options, tuple(throws))
        registry.register(definition)
        return definition

    return declare if fn is None else declare(fn)
