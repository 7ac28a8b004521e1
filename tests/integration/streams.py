"""A raw-socket HTTP/1.1 client for ``GET /jobs/take`` streams.

httpx buffers and retries in ways that hide exactly what these tests look
at (frame boundaries, heartbeats, an abrupt close), so this reads the
chunked body off the socket itself.
"""

import json
import socket
import struct
import time

import msgpack


class TakeStream:
    def __init__(self, port: int, query: str = "", accept=None, headers=()) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        lines = [f"GET /jobs/take{'?' + query if query else ''} HTTP/1.1"]
        lines.append(f"Host: 127.0.0.1:{port}")
        if accept:
            lines.append(f"Accept: {accept}")
        lines.extend(headers)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.body = b""
        head = self._read_until(b"\r\n\r\n", 10)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunked = self.headers.get("transfer-encoding") == "chunked"

    def _recv(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not data:
            raise ConnectionError("stream closed by server")
        self.buf += data
        return True

    def _read_until(self, marker: bytes, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            if not self._recv(deadline):
                raise TimeoutError(f"no {marker!r} within {timeout}s")
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _pump_body(self, deadline: float) -> bool:
        """Move whole chunks from the socket buffer to ``body``; False on timeout."""
        while True:
            if not self.chunked:
                self.body += self.buf
                self.buf = b""
                return self._recv(deadline) or False
            if b"\r\n" in self.buf:
                size_line, _, rest = self.buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if len(rest) >= size + 2:
                    self.body += rest[:size]
                    self.buf = rest[size + 2 :]
                    if size == 0:
                        raise ConnectionError("stream ended by server")
                    return True
            if not self._recv(deadline):
                return False

    def read_line(self, timeout: float = 5.0) -> bytes:
        """The next NDJSON line, heartbeats included (as ``b""``)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.body:
            if not self._pump_body(deadline):
                raise TimeoutError(f"no line within {timeout}s")
        line, _, self.body = self.body.partition(b"\n")
        return line

    def read_job(self, timeout: float = 5.0) -> dict:
        """The next job, skipping heartbeats."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(0.001, deadline - time.monotonic()))
            if line:
                return json.loads(line)

    def read_jobs(self, count: int, timeout: float = 5.0) -> list:
        return [self.read_job(timeout) for _ in range(count)]

    def expect_no_job(self, wait: float = 0.5) -> None:
        try:
            job = self.read_job(wait)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected job delivered: {job}")

    def read_frame(self, timeout: float = 5.0):
        """The next length-prefixed MessagePack frame (None = heartbeat)."""
        deadline = time.monotonic() + timeout
        while len(self.body) < 4:
            if not self._pump_body(deadline):
                raise TimeoutError("no frame")
        (size,) = struct.unpack(">I", self.body[:4])
        while len(self.body) < 4 + size:
            if not self._pump_body(deadline):
                raise TimeoutError("incomplete frame")
        data, self.body = self.body[4 : 4 + size], self.body[4 + size :]
        return msgpack.unpackb(data, raw=False) if size else None

    def read_raw(self, timeout: float) -> bytes:
        """Whatever body bytes arrive within ``timeout``."""
        deadline = time.monotonic() + timeout
        while self._pump_body(deadline):
            pass
        data, self.body = self.body, b""
        return data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
