"""A lean HTTP/1.1 keep-alive transport for request/response calls.

A general HTTP client spends ~1,700 Python calls on each request (about a
millisecond of CPU on a busy machine); a job queue's hot paths are tiny
fixed-shape requests, so over HTTP/1.1 the clients send them here: one
``sendall`` per request (head and body together, with ``TCP_NODELAY``),
one parse of the answer's head, a body by ``Content-Length`` (or chunked).
Idle connections are reused last-in first-out. A reused connection the
server has already closed is detected before any answer byte arrives and
the request is sent once more on a new connection (the server never saw
it). HTTP/2 and the take stream stay on httpx.
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
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        status, headers = parse_head(self.buffer[:end])
        self.buffer = self.buffer[end + 4 :]
        if status in _NO_BODY:
            return Answer(status, headers, b"")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return Answer(status, headers, self._chunked())
        return Answer(
            status, headers, self._exactly(int(headers.get("content-length", 0)))
        )

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _Closed(not self.buffer)
        self.buffer += chunk

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        body, self.buffer = self.buffer[:size], self.buffer[size:]
        return body

    def _chunked(self) -> bytes:
        body = b""
        while True:
            while (end := self.buffer.find(b"\r\n")) < 0:
                self._fill()
            size = int(self.buffer[:end].split(b";")[0], 16)
            self.buffer = self.buffer[end + 2 :]
            chunk = self._exactly(size + 2)[:-2]
            if not size:
                return body
            body += chunk

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


class _AsyncConnection:
    reused = False

    @classmethod
    async def open(cls, target: Target) -> "_AsyncConnection":
        connection = cls()
        connection.reader, connection.writer = await asyncio.open_connection(
            target.host,
            target.port,
            ssl=target.ssl,
            server_hostname=target.host if target.ssl else None,
        )
        sock = connection.writer.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    async def exchange(self, data: bytes) -> Answer:
        self.writer.write(data)
        reader = self.reader
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise _Closed(not exc.partial) from None
        status, headers = parse_head(head[:-4])
        if status in _NO_BODY:
            return Answer(status, headers, b"")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            return Answer(status, headers, await self._chunked())
        size = int(headers.get("content-length", 0))
        return Answer(status, headers, await reader.readexactly(size) if size else b"")

    async def _chunked(self) -> bytes:
        body = b""
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = (await self.reader.readexactly(size + 2))[:-2]
            if not size:
                return body
            body += chunk

    def close(self) -> None:
        self.writer.close()


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
                async with asyncio.timeout(self.timeout):
                    answer = await connection.exchange(data)
            except _Closed as exc:
                connection.close()
                if connection.reused and exc.unanswered:
                    continue
                raise ConnectionFailed(str(exc)) from exc
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
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
