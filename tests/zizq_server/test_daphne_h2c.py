"""serve.daphne.run() and the h2c protocol, against a real server process.

The server is tests/zizq_server/_daphne_app.py: two listeners on port 0,
a raw ASGI app (hello, 204, endless stream, WebSocket hello).
"""

import base64
import json
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import h2.connection
import h2.events
import httpx
import pytest

from tests.zizq_server._bodies import pattern
from tests.zizq_server._wire import read_response, read_until

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 10
DISCONNECT_TIMEOUT_S = 0.5


class ServerProcess:
    """The helper server as a subprocess, with its stdout as JSON events."""

    def __init__(self, marker_dir: Path, *listeners: str, env=None):
        self.marker_dir = marker_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.zizq_server._daphne_app"]
            + [str(marker_dir), *listeners],
            cwd=REPO_ROOT,
            env=None if env is None else {**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.ports = {}

    def _read_stdout(self):
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self, timeout=START_TIMEOUT_S) -> str | None:
        """The next stdout line, or None once stdout is closed."""
        return self._lines.get(timeout=timeout)

    def next_event(self, timeout=START_TIMEOUT_S) -> dict:
        return json.loads(self.next_line(timeout))

    def wait_ready(self) -> None:
        while (event := self.next_event())["event"] != "ready":
            self.ports[event["name"]] = event["port"]

    def url(self, listener: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[listener]}{path}"

    def wait_for_marker(self, name: str) -> bool:
        deadline = time.monotonic() + DISCONNECT_TIMEOUT_S
        while time.monotonic() < deadline:
            if (self.marker_dir / name).exists():
                return True
            time.sleep(0.01)
        return False

    def stop_and_read_stderr(self) -> str:
        """Stop gracefully (exit status 0) and return everything logged."""
        assert self.stop() == 0
        return self.proc.stderr.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=5)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(
        tmp_path_factory.mktemp("markers"), "admin=127.0.0.1:0", "primary=127.0.0.1:0"
    )
    process.wait_ready()
    yield process
    # Nothing from Twisted or Daphne, even after resets and disconnects.
    assert process.stop_and_read_stderr() == ""


@pytest.fixture
def h2c_client():
    with httpx.Client(http1=False, http2=True, timeout=2) as client:
        yield client


@pytest.fixture
def h1_client():
    with httpx.Client(timeout=2) as client:
        yield client


def test_listeners_bind_in_order_on_real_ports(server):
    assert list(server.ports) == ["admin", "primary"]
    assert all(port > 0 for port in server.ports.values())


@pytest.mark.parametrize("listener", ["admin", "primary"])
def test_http11_scope_names_its_listener(server, h1_client, listener):
    response = h1_client.get(server.url(listener, "/hello"))
    assert response.http_version == "HTTP/1.1"
    assert response.json()["listener"] == listener
    assert response.json()["http_version"] == "1.1"


@pytest.mark.parametrize("listener", ["admin", "primary"])
def test_h2c_prior_knowledge_serves_on_the_http11_port(server, h2c_client, listener):
    response = h2c_client.get(server.url(listener, "/hello"))
    assert response.http_version == "HTTP/2"
    assert response.json()["listener"] == listener
    assert response.json()["http_version"] == "2"


@pytest.mark.parametrize("listener", ["admin", "primary"])
def test_scope_server_is_the_listening_address_on_every_request(server, listener):
    # The transport remembers its own address instead of asking the kernel
    # per request; two requests on one connection both see the right one.
    with httpx.Client(timeout=2) as client:
        for _ in range(2):
            got = client.get(server.url(listener, "/hello")).json()["server"]
            assert got == ["127.0.0.1", server.ports[listener]]


def test_response_larger_than_socket_buffers_reaches_a_slow_reader(server):
    # 16 MiB is more than both kernel buffers on loopback hold: the first
    # send takes only part of it, and the rest must follow, intact, once the
    # reader starts reading (the transport's writability fallback).
    size = 16 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", server.ports["primary"]), 5) as sock:
        sock.sendall(f"GET /big?{size} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        time.sleep(0.3)
        data = read_until(sock, b"\r\n\r\n")
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        while len(body) < size:
            chunk = sock.recv(65536)
            assert chunk, "connection closed before the whole body arrived"
            body += chunk
        assert body == pattern(size)
        # ... and the connection still serves the next request.
        sock.sendall(b"GET /big?10 HTTP/1.1\r\nHost: test\r\n\r\n")
        assert read_until(sock, b"\r\n\r\n" + pattern(10)).startswith(b"HTTP/1.1 200")


def open_fds(process: ServerProcess) -> int:
    return len(os.listdir(f"/proc/{process.proc.pid}/fd"))


def wait_for_fds(process: ServerProcess, count: int) -> int:
    """The server's open descriptors once down to ``count`` (or after 5 s)."""
    deadline = time.monotonic() + 5
    while open_fds(process) > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return open_fds(process)


def reset_after_sending(port: int, data: bytes) -> None:
    """Connect, send ``data`` and reset the connection (SO_LINGER 0)."""
    sock = socket.create_connection(("127.0.0.1", port), 10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(data)
    sock.close()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost: t\r\n",  # the head never ends
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab",
        b"GET /stream?reset HTTP/1.1\r\nHost: t\r\n\r\n",
    ],
    ids=["whole", "head", "body", "stream"],
)
def test_clients_that_reset_are_freed_and_never_logged(lone_server, request_bytes):
    port = lone_server.ports["primary"]
    with httpx.Client(timeout=2) as client:
        client.get(lone_server.url("primary", "/hello"))  # the lazy imports
    baseline = open_fds(lone_server)
    for _ in range(300):
        reset_after_sending(port, request_bytes)
    assert wait_for_fds(lone_server, baseline) <= baseline
    with httpx.Client(timeout=2) as client:
        assert client.get(lone_server.url("primary", "/hello")).status_code == 200
    assert lone_server.stop_and_read_stderr() == ""


@pytest.mark.parametrize("listener", ["admin", "primary"])
def test_connection_close_request_gets_its_response_then_eof(server, listener):
    with socket.create_connection(("127.0.0.1", server.ports[listener]), 2) as sock:
        sock.sendall(b"GET /big?1000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == pattern(1000)


def test_http11_keep_alive_reuses_one_connection(server):
    with socket.create_connection(("127.0.0.1", server.ports["primary"]), 2) as sock:
        reader = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n")
            status, _, body = read_response(reader)
            assert status.startswith(b"HTTP/1.1 200")
            assert json.loads(body)["listener"] == "primary"


def test_h2c_multiplexes_requests_on_one_connection(server, h2c_client):
    for _ in range(3):
        response = h2c_client.get(server.url("primary", "/hello"))
        assert response.json()["http_version"] == "2"
    assert len(h2c_client._transport._pool.connections) == 1


def test_app_runs_on_uvloop_with_on_ready_tasks_alive(server, h1_client):
    first = h1_client.get(server.url("primary", "/hello")).json()
    time.sleep(0.05)
    second = h1_client.get(server.url("primary", "/hello")).json()
    assert first["loop"] == "uvloop"
    assert second["ticks"] > first["ticks"]


def test_gc_is_frozen_and_tuned_after_ready(server, h1_client):
    hello = h1_client.get(server.url("primary", "/hello")).json()
    assert hello["gc_frozen"] > 0
    assert hello["gc_threshold"] == [50_000, 50, 100]


def test_h2c_204_has_no_body(server):
    with H2cConnection(server.ports["primary"]) as conn:
        stream_id = conn.request("/empty")
        events = conn.events_until_end(stream_id)
    (response,) = [e for e in events if isinstance(e, h2.events.ResponseReceived)]
    assert dict(response.headers)[b":status"] == b"204"
    assert body_of(events) == b""


@pytest.mark.parametrize("client_fixture", ["h1_client", "h2c_client"])
def test_stream_chunks_arrive_one_by_one(server, request, client_fixture):
    client = request.getfixturevalue(client_fixture)
    url = server.url("primary", f"/stream?incremental-{client_fixture}")
    with client.stream("GET", url) as response:
        chunks = []
        for chunk in response.iter_raw():
            chunks.append(chunk)
            if len(chunks) == 3:
                break
    assert chunks == [b"chunk 1\n", b"chunk 2\n", b"chunk 3\n"]


def test_http11_close_reports_disconnect_promptly(server):
    with socket.create_connection(("127.0.0.1", server.ports["primary"]), 2) as sock:
        sock.sendall(b"GET /stream?h1-close HTTP/1.1\r\nHost: test\r\n\r\n")
        assert b"chunk 1" in read_until(sock, b"chunk 1")
    assert server.wait_for_marker("disconnect-h1-close")


def test_h2c_close_reports_disconnect_promptly(server):
    with H2cConnection(server.ports["primary"]) as conn:
        stream_id = conn.request("/stream?h2-close")
        conn.first_data(stream_id)
    assert server.wait_for_marker("disconnect-h2-close")


def test_h2c_stream_reset_reports_disconnect_and_keeps_connection(server):
    with H2cConnection(server.ports["primary"]) as conn:
        stream_id = conn.request("/stream?h2-reset")
        conn.first_data(stream_id)
        conn.reset(stream_id)
        assert server.wait_for_marker("disconnect-h2-reset")
        next_id = conn.request("/hello")
        events = conn.events_until_end(next_id)
    assert json.loads(body_of(events))["http_version"] == "2"


def test_websocket_scope_names_its_listener(server):
    with socket.create_connection(("127.0.0.1", server.ports["admin"]), 2) as sock:
        key = base64.b64encode(os.urandom(16))
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\n\r\n"
        )
        reply = read_until(sock, b"admin")
    assert reply.startswith(b"HTTP/1.1 101")
    # An unmasked text frame: FIN+text opcode, length 5, "admin".
    assert reply.endswith(b"\x81\x05admin")


def test_bind_error_prints_error_and_exits_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = ServerProcess(
            tmp_path, "admin=127.0.0.1:0", f"primary=127.0.0.1:{port}"
        )
        assert process.proc.wait(timeout=START_TIMEOUT_S) == 1
    stderr = process.proc.stderr.read()
    assert stderr == f"Error: Address already in use (127.0.0.1:{port})\n"


def test_sigterm_stops_accepting_runs_on_stop_and_exits_0(tmp_path):
    process = ServerProcess(tmp_path, "admin=127.0.0.1:0", "primary=127.0.0.1:0")
    process.wait_ready()
    with socket.create_connection(("127.0.0.1", process.ports["primary"]), 2) as sock:
        sock.sendall(b"GET /stream?sigterm HTTP/1.1\r\nHost: test\r\n\r\n")
        read_until(sock, b"chunk 1")
        assert process.stop() == 0
    assert process.next_event() == {"event": "stopping", "accepting": False}
    assert process.next_line() == "Server stopped."
    assert process.next_line() is None
    assert process.proc.stderr.read() == ""


def test_a_signal_just_after_the_stop_handlers_go_in_stops_gracefully(tmp_path):
    # uvloop acts on a signal only once run_forever has set its wakeup fd:
    # the handlers must go in on the loop's first turn, not before it runs.
    env = {"SIGTERM_AFTER_START": "1"}
    process = ServerProcess(tmp_path, "primary=127.0.0.1:0", env=env)
    assert process.proc.wait(timeout=START_TIMEOUT_S) == 0
    events = [process.next_event()["event"] for _ in range(3)]
    assert events == ["listening", "ready", "stopping"]
    assert process.next_line() == "Server stopped."


class H2cConnection:
    """A raw h2 client connection over cleartext, prior knowledge."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), 2)
        self.conn = h2.connection.H2Connection()
        self.conn.initiate_connection()
        self._flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.sock.close()

    def request(self, path: str) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        headers = [
            (":method", "GET"),
            (":path", path),
            (":scheme", "http"),
            (":authority", "test"),
        ]
        self.conn.send_headers(stream_id, headers, end_stream=True)
        self._flush()
        return stream_id

    def reset(self, stream_id: int) -> None:
        self.conn.reset_stream(stream_id)
        self._flush()

    def first_data(self, stream_id: int) -> bytes:
        for event in self._events():
            if isinstance(event, h2.events.DataReceived):
                if event.stream_id == stream_id:
                    return event.data

    def events_until_end(self, stream_id: int) -> list:
        events = []
        for event in self._events():
            events.append(event)
            if isinstance(event, h2.events.StreamEnded):
                if event.stream_id == stream_id:
                    return events

    def _events(self):
        while data := self.sock.recv(65536):
            events = self.conn.receive_data(data)
            self._flush()
            yield from events
        raise ConnectionError("server closed the connection")

    def _flush(self):
        self.sock.sendall(self.conn.data_to_send())


def body_of(events: list) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived))


def test_every_connection_disables_nagle():
    # Small responses (take frames, 204 acks) must leave at once, not wait
    # for the peer's delayed ACK.
    from twisted.internet.testing import StringTransport

    from zizq_server.serve.h2c import h2c_channel_protocol

    class Transport(StringTransport):
        nodelay = False

        def setTcpNoDelay(self, enabled):
            self.nodelay = enabled

    transport = Transport()
    h2c_channel_protocol(None).makeConnection(transport)
    assert transport.nodelay is True
