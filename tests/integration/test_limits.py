"""What one request or one client may cost (serve/limits.py, http1.py, h2_limits.py).

Request bodies over ``--max-request-body-size`` get 413 on HTTP/1.1 (the
shortcut, Twisted's parser, chunked) and HTTP/2 (shortcut and stock
streams); clients that stop reading responses cost one response, and
other clients are served meanwhile. Memory is read from the server's
/proc status with generous bounds; nothing here is timed.
"""

import json
import socket
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import msgpack
import pytest

LIMIT = 64 * 1024
TOO_LARGE = {"error": f"request body too large (limit {LIMIT} bytes)"}
PAGE = "/jobs?limit=2000"


@pytest.fixture
def limited(make_server):
    return make_server("--max-request-body-size", "64KiB")


def vm_kib(server, key: str = "VmRSS") -> int:
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(key)


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data``, then read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may close before the client is done sending
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def split(response: bytes):
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = dict(line.split(b": ", 1) for line in lines[1:])
    return lines[0], headers, body


def post(path: str, body: bytes, *headers: bytes, length=None) -> bytes:
    length = len(body) if length is None else length
    extra = b"".join(h + b"\r\n" for h in headers)
    return (
        b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n%s\r\n"
        % (path.encode(), length, extra)
        + body
    )


def enqueue_body(size: int) -> bytes:
    shell = b'{"queue":"q","type":"t","payload":""}'
    return shell[:-2] + b"x" * (size - len(shell)) + shell[-2:]


# -- HTTP/1.1 ---------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_before_the_body(limited):
    """413 in the spec's error shape, then the connection closes."""
    response = exchange(limited.port, post("/jobs", b"x" * 1000, length=LIMIT + 1))
    status, headers, body = split(response)
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert headers[b"Content-Type"] == b"application/json"
    assert headers[b"Connection"] == b"close"
    assert json.loads(body) == TOO_LARGE


def test_the_413_is_msgpack_when_accept_asks(limited):
    request = post("/jobs", b"", b"Accept: application/msgpack", length=LIMIT + 1)
    status, headers, body = split(exchange(limited.port, request))
    assert status.startswith(b"HTTP/1.1 413")
    assert headers[b"Content-Type"] == b"application/msgpack"
    assert msgpack.unpackb(body) == TOO_LARGE


def test_the_client_that_sends_its_whole_body_still_reads_the_413(limited):
    """The server reads and drops the rest instead of resetting the
    connection under the response."""
    response = exchange(limited.port, post("/jobs", b"x" * (LIMIT * 16)))
    assert split(response)[0].startswith(b"HTTP/1.1 413")


def test_twisteds_parser_refuses_a_declared_length_too(limited):
    """``Expect`` sends the request the stock way: no 100 Continue first."""
    request = post("/jobs", b"", b"Expect: 100-continue", length=LIMIT + 1)
    response = exchange(limited.port, request)
    assert response.startswith(b"HTTP/1.1 413")
    assert json.loads(split(response)[2]) == TOO_LARGE


def test_a_chunked_body_is_refused_once_it_grows_past_the_limit(limited):
    chunk = b"%x\r\n%s\r\n" % (4096, b"x" * 4096)
    head = b"POST /jobs HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    response = exchange(limited.port, head + chunk * (LIMIT // 4096 + 2))
    assert response.startswith(b"HTTP/1.1 413")
    assert json.loads(split(response)[2]) == TOO_LARGE


def test_a_body_of_exactly_the_limit_is_served(limited):
    with socket.create_connection(("127.0.0.1", limited.port), timeout=10) as sock:
        body = enqueue_body(LIMIT)
        request = post("/jobs", body, b"Content-Type: application/json")
        for at in range(0, len(request), 1000):  # over many reads
            sock.sendall(request[at : at + 1000])
        assert sock.recv(100).startswith(b"HTTP/1.1 201")


def test_the_limit_is_read_from_the_environment(make_server):
    server = make_server(env={"ZIZQ_MAX_REQUEST_BODY_SIZE": "1KiB"})
    with server.client() as client:
        assert client.post("/jobs", content=enqueue_body(1024)).status_code == 201
        refused = client.post("/jobs", content=enqueue_body(1025))
    assert refused.status_code == 413
    assert refused.json() == {"error": "request body too large (limit 1024 bytes)"}


def test_a_bulk_patch_of_one_huge_string_costs_no_multiple_of_it(server):
    """The 400 quotes the start of the string, not all 8 MiB of it."""
    huge = b'"' + b"x" * (8 * 1024 * 1024) + b'"'
    before = vm_kib(server)
    response = exchange(
        server.port, post("/jobs", huge, b"Connection: close").replace(b"POST", b"PATCH", 1)
    )
    status, _, body = split(response)
    assert status == b"HTTP/1.1 400 Bad Request"
    error = json.loads(body)["error"]
    assert len(error) < 300
    assert error.startswith('invalid JSON: invalid type: string "xxxx')
    assert error.endswith(f"... ({8 * 1024 * 1024} characters), expected a map")
    assert vm_kib(server, "VmHWM") - before < 200 * 1024  # KiB: < 25x the body


# -- HTTP/2 -----------------------------------------------------------------


class H2Client:
    """A raw h2c connection driven by hyper-h2."""

    def __init__(self, port: int, window=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.conn = h2.connection.H2Connection(config)
        self.conn.initiate_connection()
        if window is not None:
            code = h2.settings.SettingCodes.INITIAL_WINDOW_SIZE
            self.conn.update_settings({code: window})
        self.flush()

    def flush(self) -> None:
        self.sock.sendall(self.conn.data_to_send())

    def request(self, method: str, path: str, extra=(), end=True) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        headers = [
            (b":method", method.encode()), (b":path", path.encode()),
            (b":scheme", b"http"), (b":authority", b"t"), *extra,
        ]
        self.conn.send_headers(stream_id, headers, end_stream=end)
        self.flush()
        return stream_id

    def send_body(self, stream_id: int, body: bytes) -> None:
        """As much of ``body`` as the windows allow, then more as they open,
        until the stream is answered or reset."""
        events = []
        while body:
            room = min(
                self.conn.local_flow_control_window(stream_id),
                self.conn.max_outbound_frame_size,
            )
            if room <= 0:
                events += self.read()
                if any(_answers(e, stream_id) for e in events):
                    break
                continue
            try:
                self.conn.send_data(stream_id, body[:room])
            except h2.exceptions.StreamClosedError:
                break
            body = body[room:]
            self.flush()
        self.pending = events

    def response(self, stream_id: int):
        """``(status, headers, body, reset)`` of one stream."""
        headers, body, reset = {}, b"", None
        events = getattr(self, "pending", [])
        self.pending = []
        while True:
            for event in events:
                if getattr(event, "stream_id", None) != stream_id:
                    continue
                if isinstance(event, h2.events.ResponseReceived):
                    headers = dict(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length, stream_id
                    )
                elif isinstance(event, h2.events.StreamReset):
                    reset = event.error_code
                if isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    return int(headers[b":status"]), headers, body, reset
            events = self.read()

    def read(self) -> list:
        data = self.sock.recv(65536)
        assert data, "the server closed the connection"
        events = self.conn.receive_data(data)
        self.flush()
        return events

    def close(self) -> None:
        self.sock.close()


def _answers(event, stream_id: int) -> bool:
    answer = (h2.events.ResponseReceived, h2.events.StreamReset)
    return isinstance(event, answer) and event.stream_id == stream_id


def test_an_h2_body_over_the_limit_gets_413_and_the_connection_serves_on(limited):
    client = H2Client(limited.port)
    stream_id = client.request("POST", "/jobs", end=False)
    client.send_body(stream_id, b"x" * (LIMIT * 4))
    status, headers, body, _ = client.response(stream_id)
    assert status == 413
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body) == TOO_LARGE
    health = client.request("GET", "/health")
    assert client.response(health)[:3:2] == (200, b'{"status":"ok"}')
    client.close()


def test_a_stock_h2_stream_is_refused_too(limited):
    """A repeated header name sends the stream Daphne's way."""
    client = H2Client(limited.port)
    extra = [(b"accept", b"application/msgpack"), (b"x-twice", b"1"), (b"x-twice", b"2")]
    stream_id = client.request("POST", "/jobs", extra, end=False)
    client.send_body(stream_id, b"x" * (LIMIT * 2))
    status, headers, body, _ = client.response(stream_id)
    assert status == 413
    assert msgpack.unpackb(body) == TOO_LARGE
    client.close()


# -- clients that do not read -------------------------------------------------


def seed_pages(server, jobs: int = 2000, payload_bytes: int = 2048) -> None:
    """Jobs enough for one ``PAGE`` of ~``jobs * payload_bytes``."""
    payload = {"data": "x" * payload_bytes}
    with server.client() as client:
        for start in range(0, jobs, 200):
            batch = [{"queue": "q", "type": "t", "payload": payload}] * 200
            assert client.post("/jobs/bulk", json={"jobs": batch}).status_code == 201


def list_requests(server) -> int:
    return sum(
        1
        for record in server.lines
        if record["fields"].get("message") == "request"
        and str(record["fields"].get("path", "")).startswith("/jobs?limit")
    )


def wait_for_a_list(server) -> None:
    deadline = time.monotonic() + 30
    while list_requests(server) == 0:
        assert time.monotonic() < deadline, "no list request was served"
        time.sleep(0.02)


def settle(server, seconds: float = 1.5) -> None:
    """Give a server that would go on rendering pages the time to do so."""
    time.sleep(seconds)


@pytest.mark.parametrize(
    "extra",
    [b"", b"Transfer-Encoding: chunked\r\n\r\n0\r\n"],
    ids=["shortcut", "stock"],
)
def test_a_client_pipelining_pages_it_never_reads_costs_one_page(server, extra):
    seed_pages(server)  # a page is ~4 MiB of JSON
    before = vm_kib(server)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = b"GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (PAGE.encode(), extra)
    sock.sendall(request * 10)
    wait_for_a_list(server)
    with server.client() as other:
        assert other.get("/health").status_code == 200
    settle(server)
    assert list_requests(server) <= 2  # the first, and one the kernel took
    assert vm_kib(server) - before < 60 * 1024  # KiB; 10 pages are ~40 MiB
    sock.close()


def test_an_h2_client_granting_no_window_costs_one_page(server):
    seed_pages(server)
    before = vm_kib(server)
    client = H2Client(server.port, window=0)
    for _ in range(20):
        client.request("GET", PAGE)
    drop = threading.Thread(target=_drop_all, args=(client.sock,), daemon=True)
    drop.start()
    wait_for_a_list(server)
    with server.client() as other:
        assert other.get("/health").status_code == 200
    settle(server)
    assert list_requests(server) == 1
    assert vm_kib(server) - before < 60 * 1024  # KiB; 20 pages are ~80 MiB
    client.close()


def _drop_all(sock) -> None:
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
