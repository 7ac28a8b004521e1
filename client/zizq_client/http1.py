"""A lean HTTP/1.1 keep-alive transport for request/response calls.

A general HTTP client spends ~1,700 Python calls on each request (about a
millisecond of CPU on a busy machine); a job queue's hot paths are tiny
fixed-shape requests, so over HTTP/1.1 the clients send them here: one
``sendall`` per request (head and body together, with ``TCP_NODELAY``),
one parse of the answer's head, a body by ``Content-Length`` (or chunked).
Idle connections are reused last-in first-out. A reused connection the
server has already closed is detected before any answer byte arrives and
the request is sent once more on a new connection (the server never saw
it). Both connection kinds feed one parser (``parse_answer``); the asyncio
one is a ``Protocol`` that resolves a single future per answer. HTTP/2 and
the take stream stay on httpx.
"""

import asyncio
import socket
import ssl
import threading
from urllib.parse import urlencode, urlsplit

from .errors import ConnectionFailed

_NO_BODY = (204, 304)


class Target:
    """Where requests go, and the headers every request carries."""

    def __init__(self, url: str, headers: dict, ssl_context) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.ssl = _context(ssl_context) if self.tls else None
        host = self.host if parts.port is None else f"{self.host}:{self.port}"
        lines = [f"host: {host}"] + [f"{k}: {v}" for k, v in headers.items()]
        self.head = ("\r\n".join(lines) + "\r\n").encode("latin-1")

    def request(self, method: str, path: str, params, body, content_type) -> bytes:
        target = self.prefix + path
        if params:
            target += "?" + urlencode(params)
        head = f"{method} {target} HTTP/1.1\r\n".encode() + self.head
        if body is not None:
            head += f"content-type: {content_type}\r\ncontent-length: {len(body)}\r\n".encode()
            return head + b"\r\n" + body
        return head + b"content-length: 0\r\n\r\n"


def _context(option) -> ssl.SSLContext:
    if isinstance(option, ssl.SSLContext):
        context = option
    elif option is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


def parse_head(head: bytes) -> tuple:
    """``(status, headers)`` of an answer's head (names lowercased)."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


class Answer:
    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status: int, headers: dict, content: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, content


def parse_answer(buffer: bytes):
    """``(answer, bytes used)`` for the first whole answer in ``buffer``, or
    None while it is incomplete (both connections feed this one parser)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    status, headers = parse_head(buffer[:end])
    start = end + 4
    if status in _NO_BODY:
        return Answer(status, headers, b""), start
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return _chunked(buffer, start, status, headers)
    size = int(headers.get("content-length", 0))
    if len(buffer) < start + size:
        return None
    return Answer(status, headers, buffer[start : start + size]), start + size


def _chunked(buffer: bytes, pos: int, status: int, headers: dict):
    body = []
    while True:
        end = buffer.find(b"\r\n", pos)
        if end < 0:
            return None
        size = int(buffer[pos:end].split(b";")[0], 16)
        if len(buffer) < end + 4 + size:
            return None
        body.append(buffer[end + 2 : end + 2 + size])
        pos = end + 4 + size
        if not size:
            return Answer(status, headers, b"".join(body)), pos


class _Connection:
    def __init__(self, target: Target, timeout: float, connect_timeout: float):
        sock = socket.create_connection((target.host, target.port), connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if target.ssl is not None:
            sock = target.ssl.wrap_socket(sock, server_hostname=target.host)
        sock.settimeout(timeout)
        self.sock, self.buffer, self.reused = sock, b"", False

    def exchange(self, data: bytes) -> Answer:
        self.sock.sendall(data)
        while (parsed := parse_answer(self.buffer)) is None:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise _Closed(not self.buffer)
            self.buffer += chunk
        answer, used = parsed
        self.buffer = self.buffer[used:]
        return answer

    def close(self) -> None:
        self.sock.close()


class _Closed(OSError):
    """The server closed the connection; ``unanswered`` if before any byte."""

    def __init__(self, unanswered: bool) -> None:
        super().__init__("server closed the connection")
        self.unanswered = unanswered


class Pool:
    """Thread-safe keep-alive connections to one server."""

    def __init__(self, target: Target, timeout: float, connect_timeout: float) -> None:
        self.target, self.timeout, self.connect_timeout = (
            target,
            timeout,
            connect_timeout,
        )
        self._idle: list = []
        self._lock = threading.Lock()

    def send(self, data: bytes) -> Answer:
        for _ in range(2):
            connection = self._take()
            try:
                answer = connection.exchange(data)
            except _Closed as exc:
                connection.close()
                if connection.reused and exc.unanswered:
                    continue
                raise ConnectionFailed(str(exc)) from exc
            except OSError as exc:
                connection.close()
                raise ConnectionFailed(repr(exc)) from exc
            except BaseException:
                connection.close()  # interrupted mid-answer: never reuse it
                raise
            if answer.headers.get("connection", "").lower() == "close":
                connection.close()
            else:
                connection.reused = True
                with self._lock:
                    self._idle.append(connection)
            return answer
        raise ConnectionFailed("server closed the connection")

    def _take(self) -> _Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return _Connection(self.target, self.timeout, self.connect_timeout)
        except OSError as exc:
            raise ConnectionFailed(repr(exc)) from exc

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class _AsyncConnection(asyncio.Protocol):
    """A connection as a protocol: answers are parsed in ``data_received``
    and handed to the one waiting exchange's future (asyncio's streams
    cost a future, a waiter and a buffer copy for every read, and a
    timeout context per request)."""

    reused = False

    def __init__(self) -> None:
        self.transport = None
        self.buffer = b""
        self.waiter = None
        self.lost = False

    @classmethod
    async def open(cls, target: Target) -> "_AsyncConnection":
        loop = asyncio.get_running_loop()
        transport, connection = await loop.create_connection(
            cls,
            target.host,
            target.port,
            ssl=target.ssl,
            server_hostname=target.host if target.ssl else None,
        )
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        parsed = parse_answer(self.buffer)
        if parsed is not None:
            answer, used = parsed
            self.buffer = self.buffer[used:]
            self.waiter = None
            waiter.set_result(answer)

    def connection_lost(self, exc) -> None:
        self.lost = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(_Closed(not self.buffer))

    async def exchange(self, data: bytes, timeout: float) -> Answer:
        if self.lost:
            raise _Closed(True)
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        self.transport.write(data)
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        self.transport.close()


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no answer in time"))


class AsyncPool:
    """Keep-alive connections to one server for one event loop."""

    def __init__(self, target: Target, timeout: float, connect_timeout: float) -> None:
        self.target, self.timeout, self.connect_timeout = (
            target,
            timeout,
            connect_timeout,
        )
        self._idle: list = []

    async def send(self, data: bytes) -> Answer:
        for _ in range(2):
            connection = await self._take()
            try:
                answer = await connection.exchange(data, self.timeout)
            except _Closed as exc:
                connection.close()
                if connection.reused and exc.unanswered:
                    continue
                raise ConnectionFailed(str(exc)) from exc
            except (OSError, TimeoutError) as exc:
                connection.close()
                raise ConnectionFailed(repr(exc)) from exc
            except BaseException:
                connection.close()  # cancelled mid-answer: never reuse it
                raise
            if answer.headers.get("connection", "").lower() == "close":
                connection.close()
            else:
                connection.reused = True
                self._idle.append(connection)
            return answer
        raise ConnectionFailed("server closed the connection")

    async def _take(self) -> _AsyncConnection:
        if self._idle:
            return self._idle.pop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await _AsyncConnection.open(self.target)
        except (OSError, TimeoutError) as exc:
            raise ConnectionFailed(repr(exc)) from exc

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
