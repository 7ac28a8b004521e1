"""The sync and asyncio clients: every call of the Zizq API.

``_Api`` holds the calls once; each method builds a ``calls.Call`` and hands
it to ``_send``, which returns the value in ``Client`` and an awaitable in
``AsyncClient``, so ``client.get(id)`` and ``await aclient.get(id)`` share
one definition. Over HTTP/1.1 requests go through ``http1``'s lean
keep-alive pool, over HTTP/2 through httpx (one multiplexed connection),
and take streams through httpx on their own connection. An error status
becomes the exception ``errors.error_for`` picks, and a network failure
becomes ``ConnectionFailed``.
"""

from contextlib import asynccontextmanager, contextmanager

import httpx

from . import calls, http1
from .codec import STREAM_ACCEPT, decode, encode, frame_decoder
from .errors import ConnectionFailed, error_for
from .handle import AsyncJobHandle, JobHandle
from .middleware import chain
from .models import Job
from .params import failure_body, job_params, patch_body
from .query import AsyncQuery, Query
from .transport import ClientConfig


class _Api:
    """The API calls, shared by both clients."""

    config: ClientConfig

    def _setup(self, config, options, middleware) -> None:
        if config is None:
            config = ClientConfig(**options)
        elif options:
            config = config.using(**options)
        self.config = config
        self.middleware = list(middleware)
        self._content_type = {"content-type": config.content_type}
        self._target = None
        if not config.http2:
            headers = {"accept": config.content_type, **dict(config.headers)}
            self._target = http1.Target(config.url, headers, config.ssl_context())

    def _request_bytes(self, call: calls.Call) -> bytes:
        return self._target.request(
            call.method,
            call.path,
            call.params,
            self._body(call),
            self.config.content_type,
        )

    def _body(self, call: calls.Call):
        if call.body is None:
            return None
        return encode(self.config.format, call.body)

    def _result(self, call: calls.Call, response: httpx.Response):
        body = decode(response.headers.get("content-type", ""), response.content)
        if response.status_code >= 400:
            raise error_for(response.status_code, body, call.path)
        return call.parse(body)

    def health(self):
        return self._send(calls.health())

    def version(self):
        return self._send(calls.version())

    def enqueue_raw(self, *, queue: str, type: str, payload, **options):
        """Enqueue one job by its wire fields (any language's job type)."""
        return self.enqueue_params(
            job_params(queue=queue, type=type, payload=payload, **options)
        )

    def enqueue_params(self, params: dict):
        return self._enqueue([params], single=True)

    def enqueue_bulk(self, jobs: list):
        """Enqueue job-parameter dicts atomically, as one request."""
        return self._enqueue(list(jobs), single=False)

    def ack(self, job_id: str):
        return self._send(calls.ack(job_id))

    def ack_bulk(self, ids):
        return self._send(calls.ack_bulk(ids))

    def nack(self, job_id: str, message: str, **failure):
        """Report a failure; ``retry_at``/``kill`` override the backoff."""
        return self._send(calls.nack(job_id, failure_body(message, **failure)))

    def queues(self):
        return self._send(calls.queues())

    def get(self, job_id: str):
        return self._send(calls.get(job_id))

    def count(self, **filters):
        return self._send(calls.count(calls.filter_params(filters)))

    def error(self, job_id: str, attempt: int):
        return self._send(calls.error(job_id, attempt))

    def update(self, job_id: str, **patch):
        """Change one job (queue, priority, ready_at and the overrides)."""
        return self._send(calls.update(job_id, patch_body(**patch)))

    def delete(self, job_id: str):
        return self._send(calls.delete(job_id))

    def reset(self):
        """Delete every job and cron group (tests and development only)."""
        return self._send(calls.reset())

    # Cron schedules (pro): a group is named entries of ``cron.CronEntry``.

    def crons(self):
        """The names of every cron group."""
        return self._send(calls.crons())

    def cron(self, group: str):
        """One group (``CronGroup``) with its entries and their state."""
        return self._send(calls.cron(group))

    def put_cron(self, group: str, entries, *, paused: bool | None = None):
        """Define a group declaratively (create it or replace its entries;
        an unchanged expression keeps its schedule): call at every start."""
        return self._send(calls.put_cron(group, list(entries), paused))

    def pause_cron(self, group: str, entry: str | None = None):
        """Pause a group, or one of its entries: it keeps time, enqueues
        nothing. Returns the group or the entry."""
        return self._send(calls.pause_cron(group, entry, True))

    def resume_cron(self, group: str, entry: str | None = None):
        return self._send(calls.pause_cron(group, entry, False))

    def delete_cron(self, group: str, entry: str | None = None):
        """Delete a group with its entries, or one entry of it."""
        return self._send(calls.delete_cron(group, entry))

    def delete_crons(self):
        """Delete every cron group; returns how many there were."""
        return self._send(calls.delete_crons())

    def add_cron_entry(self, group: str, entry):
        """Add an entry (the group is made if missing); ``Conflict`` if the
        group has one of that name already."""
        return self._send(calls.add_cron_entry(group, entry))

    def cron_entry(self, group: str, name: str):
        return self._send(calls.cron_entry(group, name))

    def put_cron_entry(self, group: str, entry):
        """Create or replace one entry, keeping its schedule if its
        expression is unchanged."""
        return self._send(calls.put_cron_entry(group, entry))

    def _stream_request(self, queues, prefetch: int, worker_id):
        params = {"prefetch": str(prefetch)}
        if queues:
            params["queue"] = queues if isinstance(queues, str) else ",".join(queues)
        headers = {"accept": STREAM_ACCEPT[self.config.format]}
        if worker_id:
            headers["worker-id"] = worker_id
        return params, headers


class Client(_Api):
    """A blocking client; use as a context manager or call ``close()``."""

    def __init__(
        self, config: ClientConfig | None = None, *, middleware=(), **options
    ) -> None:
        self._setup(config, options, middleware)
        if self._target is None:
            self._http = httpx.Client(**self.config.httpx_kwargs())
        else:
            self._pool = http1.Pool(
                self._target, self.config.timeout, self.config.connect_timeout
            )

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._target is None:
            self._http.close()
        else:
            self._pool.close()

    @property
    def jobs(self) -> Query:
        """A lazy query over every job; narrow it with ``.filter(...)``."""
        return Query(self)

    def job(self, job_id: str) -> JobHandle:
        """A handle on one job: its calls, errors and ``requeue_copy``."""
        return JobHandle(self, job_id)

    def errors(self, job_id: str, *, order: str = "asc", page_size: int = 200):
        """Every error record of a job, oldest attempt first by default."""
        params = {"order": order, "limit": str(page_size)}
        records = []
        while True:
            page, following = self._send(calls.errors_page(job_id, params))
            records += page
            if following is None or not page:
                return records
            params = {**params, "from": str(page[-1].attempt)}

    def _send(self, call: calls.Call):
        if self._target is not None:
            return self._result(call, self._pool.send(self._request_bytes(call)))
        try:
            response = self._http.request(
                call.method,
                call.path,
                params=call.params,
                content=self._body(call),
                headers=self._content_type if call.body is not None else None,
            )
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"{call.method} {call.path}: {exc!r}") from exc
        return self._result(call, response)

    def _enqueue(self, jobs: list, single: bool):
        def send(jobs):
            if single and len(jobs) == 1:
                return [self._send(calls.enqueue(jobs[0]))]
            return self._send(calls.enqueue_bulk(jobs))

        result = chain(self.middleware, "enqueue", send)(jobs)
        return result[0] if single else result

    @contextmanager
    def take(
        self,
        queues=None,
        *,
        prefetch: int = 1,
        worker_id=None,
        read_timeout: float = 30.0,
    ):
        """Open a take stream on its own connection (closing it is what
        returns undelivered jobs: httpx does not reset an HTTP/2 stream it
        stops reading); yields an iterator of lists of ``Job``."""
        params, headers = self._stream_request(queues, prefetch, worker_id)
        frames = frame_decoder(self.config.format)
        try:
            with (
                httpx.Client(**self.config.httpx_kwargs(read_timeout)) as http,
                http.stream(
                    "GET", "/jobs/take", params=params, headers=headers
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    self._result(calls.Call("GET", "/jobs/take", None), response)
                yield (
                    [Job(wire) for wire in frames.feed(chunk)]
                    for chunk in response.iter_raw()
                )
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"take stream: {exc!r}") from exc


class AsyncClient(_Api):
    """An asyncio client; use with ``async with`` or ``await aclose()``."""

    def __init__(
        self, config: ClientConfig | None = None, *, middleware=(), **options
    ) -> None:
        self._setup(config, options, middleware)
        if self._target is None:
            self._http = httpx.AsyncClient(**self.config.httpx_kwargs())
        else:
            self._pool = http1.AsyncPool(
                self._target, self.config.timeout, self.config.connect_timeout
            )

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._target is None:
            await self._http.aclose()
        else:
            await self._pool.aclose()

    @property
    def jobs(self) -> AsyncQuery:
        return AsyncQuery(self)

    def job(self, job_id: str) -> AsyncJobHandle:
        return AsyncJobHandle(self, job_id)

    async def errors(self, job_id: str, *, order: str = "asc", page_size: int = 200):
        params = {"order": order, "limit": str(page_size)}
        records = []
        while True:
            page, following = await self._send(calls.errors_page(job_id, params))
            records += page
            if following is None or not page:
                return records
            params = {**params, "from": str(page[-1].attempt)}

    async def _send(self, call: calls.Call):
        if self._target is not None:
            answer = await self._pool.send(self._request_bytes(call))
            return self._result(call, answer)
        try:
            response = await self._http.request(
                call.method,
                call.path,
                params=call.params,
                content=self._body(call),
                headers=self._content_type if call.body is not None else None,
            )
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"{call.method} {call.path}: {exc!r}") from exc
        return self._result(call, response)

    async def _enqueue(self, jobs: list, single: bool):
        async def send(jobs):
            if single and len(jobs) == 1:
                return [await self._send(calls.enqueue(jobs[0]))]
            return await self._send(calls.enqueue_bulk(jobs))

        result = await chain(self.middleware, "aenqueue", send)(jobs)
        return result[0] if single else result

    @asynccontextmanager
    async def take(
        self,
        queues=None,
        *,
        prefetch: int = 1,
        worker_id=None,
        read_timeout: float = 30.0,
    ):
        """Open a take stream on its own connection (see ``Client.take``);
        yields an async iterator of lists of ``Job``."""
        params, headers = self._stream_request(queues, prefetch, worker_id)
        frames = frame_decoder(self.config.format)

        async def batches(response):
            async for chunk in response.aiter_raw():
                yield [Job(wire) for wire in frames.feed(chunk)]

        try:
            async with (
                httpx.AsyncClient(**self.config.httpx_kwargs(read_timeout)) as http,
                http.stream(
                    "GET", "/jobs/take", params=params, headers=headers
                ) as response,
            ):
                if response.status_code >= 400:
                    await response.aread()
                    self._result(calls.Call("GET", "/jobs/take", None), response)
                yield batches(response)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"take stream: {exc!r}") from exc
