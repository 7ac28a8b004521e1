"""The API's ASGI callable: negotiation, routing, errors, request log.

Each listener (primary, admin) gets one ``ApiApp`` over its route table.
It is a plain ASGI callable rather than a stock ``AsyncHttpConsumer``: the
stock consumer hops to a thread on every message to close database
connections, and Django's URL resolver costs more than the request itself
(DESIGN.md section 2). Routing is a dict lookup for literal paths and a
short scan of parameterised patterns.

Order of checks per request (API.md 2.1, 2.3): ``Accept`` (406) before the
route (so an unknown path with a bad ``Accept`` is 406), then 404/405, then
the handler, which reads its body only if it takes one. The admin API's
unknown paths are the exception: an empty 404 before anything else
(ADMIN_AND_CLI.md 6).
"""

import logging
import time

from queue_core.errors import QueueError
from ..logging import log_exchange

from . import negotiation
from .errors import status_for
from .negotiation import JSON, BodyError

logger = logging.getLogger("zizq.api")

_NOT_ACCEPTABLE = {"error": "not acceptable", "supported": negotiation.SUPPORTED}
_UNSUPPORTED = {
    "error": "unsupported media type",
    "supported": negotiation.SUPPORTED,
}


class HttpError(Exception):
    """An HTTP-level refusal with its status and body object."""

    def __init__(self, status: int, body, content_type=None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type  # None = the negotiated format


class Request:
    """What a handler sees of a request."""

    __slots__ = ("scope", "method", "params", "fmt", "headers", "_receive", "query")

    def __init__(self, scope, receive, params, fmt, headers) -> None:
        self.scope = scope
        self.method = scope["method"]
        self.params = params
        self.fmt = fmt
        self.headers = headers
        self.query = scope.get("query_string", b"")
        self._receive = receive

    async def body(self) -> bytes:
        chunks = []
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                raise HttpError(400, {"error": "request aborted"})
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)

    async def decoded_body(self):
        """The body decoded per ``Content-Type`` (415 / 400 per API.md 2.1)."""
        body_fmt, raw = await self.raw_body()
        return body_fmt, decode_body(body_fmt, raw)

    async def raw_body(self):
        """The body's format (415 if unsupported) and its bytes, undecoded."""
        body_fmt = negotiation.request_format(self.headers.get(b"content-type"))
        if body_fmt is None:
            raise HttpError(415, _UNSUPPORTED)
        return body_fmt, await self.body()


def decode_body(body_fmt: str, raw: bytes):
    """``raw`` decoded as ``body_fmt``; 400 if it is not valid."""
    try:
        return negotiation.decode(body_fmt, raw)
    except BodyError as exc:
        raise HttpError(400, {"error": str(exc)}) from None


def parse_body(body_fmt: str, decoder, value, prefix: str = ""):
    """Run a body decoder; its BodyError becomes a 400 naming the format."""
    try:
        return decoder(value)
    except BodyError as exc:
        name = negotiation.format_name(body_fmt)
        raise HttpError(400, {"error": f"invalid {name}: {prefix}{exc}"}) from None


def _headers(scope) -> dict:
    headers = {}
    for name, value in scope["headers"]:
        if name in (b"accept", b"content-type", b"worker-id"):
            headers[name] = value.decode("latin-1")
    return headers


class Router:
    """Literal paths by dict; patterns with ``{}`` segments by a scan."""

    def __init__(self, routes) -> None:
        self.literal = {}
        self.patterns = []
        for segments, methods in routes:
            if "{}" in segments:
                self.patterns.append((segments, methods))
            else:
                self.literal["/" + "/".join(segments)] = methods

    def match(self, path: str):
        """``(methods, params)`` for a path, or None."""
        methods = self.literal.get(path)
        if methods is not None:
            return methods, ()
        parts = path[1:].split("/")
        for segments, methods in self.patterns:
            if len(segments) != len(parts):
                continue
            params = []
            for want, got in zip(segments, parts):
                if want == "{}":
                    params.append(got)
                elif want != got:
                    break
            else:
                return methods, tuple(params)
        return None


class ApiApp:
    """An ASGI app serving one route table with the spec's conventions."""

    def __init__(self, routes, log_target: str, json_404: bool = True) -> None:
        self.router = Router(routes)
        self.log = logging.getLogger(log_target)
        # The admin API answers unknown paths with an empty 404 (spec 6).
        self.json_404 = json_404

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return
        started = time.perf_counter_ns()
        status = await self.respond(scope, receive, send)
        if self.log.isEnabledFor(logging.INFO):
            log_exchange(self.log, scope, status, started)

    async def respond(self, scope, receive, send) -> int:
        headers = _headers(scope)
        found = self.router.match(scope["path"])
        methods, params = found or ({}, ())
        if found is None and not self.json_404:
            # The admin API: any other path is an empty 404, whatever the
            # Accept header (spec 6).
            return await send_empty(send, 404)
        handler = methods.get(scope["method"])
        if getattr(handler, "streaming", False):
            # Streams negotiate their own formats (API.md 2.2).
            return await handler(Request(scope, receive, params, None, headers), send)
        fmt = negotiation.response_format(headers.get(b"accept"))
        if fmt is None:
            return await send_response(send, 406, _NOT_ACCEPTABLE, JSON)
        if found is None:
            return await send_response(send, 404, {"error": "not found"}, fmt)
        if handler is None:
            return await send_empty(send, 405, [(b"allow", _allow(methods))])
        request = Request(scope, receive, params, fmt, headers)
        try:
            status, body = await handler(request)
        except HttpError as exc:
            status, body, fmt = exc.status, exc.body, exc.content_type or fmt
        except QueueError as exc:
            status, body = status_for(exc), {"error": exc.message}
        except Exception:
            logger.exception(
                "unhandled error",
                extra={"fields": {"method": request.method, "path": scope["path"]}},
            )
            status, body = 500, {"error": "internal server error"}
        if body is None:
            return await send_empty(send, status)
        return await send_response(send, status, body, fmt)


def _allow(methods) -> bytes:
    return ", ".join(sorted(methods)).encode()


async def send_response(send, status: int, body, fmt: str) -> int:
    data = body if isinstance(body, bytes) else negotiation.encode(fmt, body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", fmt.encode()),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
    return status


async def send_empty(send, status: int, headers=()) -> int:
    """A response without body or content-type (204s must have neither)."""
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": b""})
    return status
