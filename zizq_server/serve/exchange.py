"""One request's ASGI application, run without Daphne's request objects.

Both shortcuts (``http1`` for HTTP/1.1 connections, ``h2`` for HTTP/2
streams) start the application as a task with the scope Daphne would build
and speak ASGI to it themselves. ``Exchange`` is what they share:
``receive`` gives the body once, then ``http.disconnect`` once the response
is done or the client is gone; ``send`` checks the message order as Daphne
does; an application that outlives its client is cancelled after the
server's ``application_close_timeout``; and one that ends without
completing its response gets a bare 500, or, when its head is already
out, the protocol's way of cutting a response short (``_abandon``).
A protocol subclass writes the response (``_write``) and calls
``_finish`` once it is complete. ``Origin`` builds the scope Daphne's
``WebRequest.process`` would, from what the connection knows once.

A response streamed in several messages (a take stream, a chunked body)
gets back-pressure: after writing a ``more_body`` message, ``send`` waits
while the protocol says its output is congested (``congested``: the
client is not reading what was written) until the protocol reports that
output drained (``output_drained``) or the client is gone. A response in
one message needs no wait: the protocol starts no further request while
the client has not read it (``http1``, ``h2``).
"""

import asyncio
import logging
from urllib.parse import unquote

from twisted.internet.interfaces import ISSLTransport

logger = logging.getLogger("daphne.server")

DISCONNECT = {"type": "http.disconnect"}
# Responses that never carry a body, whatever the application sends.
NO_BODY_STATUSES = (204, 304)


class Origin:
    """What a connection puts in the scope of each of its requests."""

    __slots__ = ("client", "server", "scheme")

    def __init__(self, transport) -> None:
        peer, host = transport.getPeer(), transport.getHost()
        self.client = [str(peer.host), peer.port] if hasattr(peer, "host") else None
        self.server = [str(host.host), host.port] if hasattr(host, "host") else None
        self.scheme = "https" if ISSLTransport(transport, None) else "http"

    def scope(self, version, method, target, headers, root_path) -> dict:
        """The scope of a request with an origin-form ASCII ``target``."""
        path, _, query = target.partition(b"?")
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": version,
            "method": method.decode("ascii"),
            "path": unquote(path.decode("ascii")),
            "raw_path": path,
            "root_path": root_path,
            "scheme": self.scheme,
            "query_string": query,
            "headers": headers,
            "client": self.client,
            "server": self.server,
        }


class Exchange:
    """A request's application task and its ``receive`` and ``send``."""

    __slots__ = (
        "server", "body", "waiter", "status", "headers", "writing", "finished",
        "task", "drain",
    )

    def __init__(self, server) -> None:
        self.server = server  # the listener's view of Daphne's Server
        self.body = None  # until the application has received it
        self.waiter = None  # the future a receive() after the body waits on
        self.status = None  # from http.response.start
        self.headers = None
        self.writing = False  # the head is written
        self.finished = False  # the response is complete or the client gone
        self.task = None
        self.drain = None  # the future send() waits on while output is congested

    def start(self, scope: dict, body: bytes) -> None:
        """Run the application on the whole request."""
        self.body = body
        self.task = self._application(scope)
        self.task.add_done_callback(self._application_done)

    def _application(self, scope: dict) -> asyncio.Task:
        """The application's task (a protocol may start it behind a gate)."""
        return self.server.start_application(scope, self.receive, self.send)

    async def receive(self):
        body = self.body
        if body is not None:
            self.body = None
            return {"type": "http.request", "body": body, "more_body": False}
        if self.finished:
            return DISCONNECT
        self.waiter = asyncio.get_running_loop().create_future()
        return await self.waiter

    async def send(self, message):
        if self.finished:
            return
        kind = message["type"]
        if kind == "http.response.start":
            if self.status is not None:
                raise ValueError("HTTP response has already been started")
            self.status = message["status"]
            self.headers = message.get("headers", ())
        elif kind == "http.response.body":
            if self.status is None:
                raise ValueError(
                    f"HTTP response has not yet been started but got {kind}"
                )
            more = message.get("more_body", False)
            self._write(message.get("body", b""), more)
            if more:
                while not self.finished and self.congested():
                    if self.drain is None:
                        self.drain = asyncio.get_running_loop().create_future()
                    await self.drain
        else:
            raise ValueError(f"Unknown ASGI message type {kind}")

    def _write(self, body: bytes, more: bool) -> None:
        """Write one body message (the head with the first); ``_finish``
        after the last."""
        raise NotImplementedError

    def _abandon(self) -> None:
        """Cut short a response whose head is written."""
        raise NotImplementedError

    def congested(self) -> bool:
        """Whether the client has not read enough of what was written for
        more to be worth writing yet."""
        raise NotImplementedError

    def output_drained(self) -> None:
        """Called by the protocol when the output may have drained: a
        ``send`` waiting on it checks again."""
        drain, self.drain = self.drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _finish(self) -> None:
        self.finished = True
        self._wake(DISCONNECT)
        if self.drain is not None:  # a streaming send waits: it is over
            self.output_drained()

    def client_gone(self) -> None:
        self.finished = True
        self._wake(DISCONNECT)
        self.output_drained()
        if self.task is not None and not self.task.done():
            timeout = self.server.application_close_timeout
            asyncio.get_running_loop().call_later(timeout, self.task.cancel)

    def _wake(self, message) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    def _application_done(self, task) -> None:
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            logger.error("Exception inside application: %s", error, exc_info=error)
        if self.finished:
            return
        # The application ended without completing its response.
        if self.writing:
            self._abandon()
        else:
            self.status, self.headers = 500, ()
            self._write(b"", False)
