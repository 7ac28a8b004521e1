"""``GET /jobs/take``: the streaming dequeue (API.md 7.3.1).

A stock ``AsyncHttpConsumer`` cannot both stream forever and notice
``http.disconnect``, so each stream runs two halves: the request task waits
on ``receive()`` for the disconnect, and a pump task writes frames. The
engine appends claimed jobs to the taker's outbox and wakes the pump; the
pump renders everything waiting into ONE send (Twisted's HTTP/2 slows down
quadratically on many small sends, and one send is cheaper on HTTP/1.1
too). One timer per stream asks for a heartbeat frame when nothing was
sent for a heartbeat interval. The pump sleeps on a bare future rather than
``wait_for(event.wait(), interval)``, which made a task and a timer per
wake-up and cost a loop iteration before each frame. Whatever ends the
stream (client gone, server shutdown), the taker is closed, which returns
its unacked jobs to ``ready``.
"""

import asyncio
import logging
import secrets
import struct
from urllib.parse import unquote

import msgpack

from queue_core import codec

from ...runtime import runtime
from .. import negotiation
from ..app import send_response

logger = logging.getLogger("zizq.api.take")

_HEARTBEATS = {
    negotiation.NDJSON: b"\n",
    negotiation.MSGPACK_STREAM: b"\x00\x00\x00\x00",
    negotiation.SSE: b": heartbeat\n\n",
}
_NOT_ACCEPTABLE = {
    "error": "not acceptable",
    "supported": negotiation.STREAM_SUPPORTED,
}
_packb = msgpack.Packer(use_bin_type=True).pack
_length = struct.Struct(">I").pack


class QueryError(Exception):
    """A take query string that does not deserialize."""


def parse_query(query: bytes):
    """``(queues or None, prefetch)`` from the query string."""
    queues, prefetch, seen = None, 1, set()
    for part in query.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = unquote(name.replace("+", " "))
        value = unquote(value.replace("+", " "))
        if name in seen:
            raise QueryError(f"duplicate field `{name}`")
        seen.add(name)
        if name == "queue":
            names = frozenset(q for q in value.split(",") if q)
            queues = names or None
        elif name == "prefetch":
            if not value.isdigit() or not value.isascii():
                raise QueryError("invalid digit found in string")
            prefetch = int(value)
        else:
            raise QueryError(
                f"unknown field `{name}`, expected `queue` or `prefetch`"
            )
    return queues, prefetch


def _renderer(fmt: str):
    if fmt == negotiation.NDJSON:
        return lambda job: codec.job_to_json(job, True) + b"\n"
    if fmt == negotiation.SSE:
        return lambda job: b"data: " + codec.job_to_json(job, True) + b"\n\n"

    def frame(job) -> bytes:
        body = _packb(codec.job_to_obj(job, True))
        return _length(len(body)) + body

    return frame


async def take(request, send):
    fmt = negotiation.stream_format(request.headers.get(b"accept"))
    if fmt is None:
        return await send_response(send, 406, _NOT_ACCEPTABLE, negotiation.JSON)
    try:
        queues, prefetch = parse_query(request.query)
    except QueryError as exc:
        text = f"Failed to deserialize query string: {exc}".encode()
        return await send_response(send, 400, text, "text/plain; charset=utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", fmt.encode())],
        }
    )
    await send({"type": "http.response.body", "body": b"", "more_body": True})
    worker = request.headers.get(b"worker-id") or secrets.token_hex(4)
    stream = TakeStream(send, fmt, queues, prefetch, worker)
    await stream.run(request._receive)
    return 200


take.streaming = True


class TakeStream:
    """One open take stream: its taker, its pump, its end."""

    def __init__(self, send, fmt, queues, prefetch, worker) -> None:
        self.send = send
        self.render = _renderer(fmt)
        self.heartbeat = _HEARTBEATS[fmt]
        self.worker = worker
        self.ended = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._interval_s = runtime.heartbeat_interval_ms / 1000
        self._waiter = None  # the pump's future while it sleeps
        self._beat_due = False
        self._sent_at = self._loop.time()
        self._timer = None
        self.taker = runtime.store.open_taker(queues, prefetch, self._wake)

    async def run(self, receive) -> None:
        runtime.streams.add(self)
        logger.debug("worker connected", extra={"fields": {"worker_id": self.worker}})
        tasks = (
            asyncio.ensure_future(self._pump()),
            asyncio.ensure_future(self._wait_disconnect(receive)),
            asyncio.ensure_future(self.ended.wait()),
        )
        try:
            await asyncio.wait(tasks[1:], return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Every task must end with the stream: a forgotten one would
            # wait for good, one per connection ever made.
            for task in tasks:
                task.cancel()
            self.close()
            await asyncio.gather(*tasks, return_exceptions=True)
        logger.debug(
            "worker disconnected", extra={"fields": {"worker_id": self.worker}}
        )

    def close(self) -> None:
        """Requeue what this stream still holds; idempotent."""
        if self in runtime.streams:
            runtime.streams.discard(self)
            runtime.store.close_taker(self.taker)

    async def end(self) -> None:
        """Server shutdown: requeue, finish the response, release ``run``."""
        self.close()
        self.ended.set()
        try:
            await self.send({"type": "http.response.body", "body": b""})
        except Exception:  # the client may be gone already
            pass

    async def _wait_disconnect(self, receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():  # done = cancelled with the stream
                waiter.set_result(None)

    def _tick(self) -> None:
        """The heartbeat timer: a beat is due after an interval of silence."""
        idle_s = self._loop.time() - self._sent_at
        if idle_s >= self._interval_s:
            self._beat_due = True
            self._wake()
            idle_s = 0.0
        self._timer = self._loop.call_later(self._interval_s - idle_s, self._tick)

    async def _pump(self) -> None:
        taker, send, loop = self.taker, self.send, self._loop
        self._timer = loop.call_later(self._interval_s, self._tick)
        try:
            while True:
                if not taker.outbox and not self._beat_due:
                    self._waiter = loop.create_future()
                    await self._waiter
                jobs, taker.outbox = taker.outbox, []
                held = taker.in_flight
                data = b"".join(self.render(j) for j in jobs if j.id in held)
                if not data and self._beat_due:
                    data = self.heartbeat
                self._beat_due = False
                if data:
                    self._sent_at = loop.time()
                    await send(_more(data))
        finally:
            self._timer.cancel()


def _more(data: bytes) -> dict:
    return {"type": "http.response.body", "body": data, "more_body": True}
