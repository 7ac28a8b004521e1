"""HTTP/2 connections, on both twins: libnghttp2 (serve/h2_native.py) and
hyper-h2's shortcut (serve/h2.py): which streams the shortcut takes, and
that a stream gets the same treatment whichever way it goes, flow control
and failures included.

The server is the raw ASGI helper app of test_daphne_h2c.py; ``/echo``
answers with the scope and body the application saw. Every test that
talks to a server runs against both connection classes (``twin``): the
compiled one, and hyper-h2 forced by ``ZIZQ_NO_EXTENSIONS=1``. On the
hyper-h2 twin, a request with a ``daphne-root-path`` header always goes
the stock way (Twisted's ``H2Stream`` and Daphne's request); sent empty, it
changes nothing in the scope, so it is the reference the shortcut (and the
libnghttp2 class) is held to.
"""

import json
import socket
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import hyperframe.frame
import pytest

from tests.zizq_server._bodies import pattern
from tests.zizq_server.test_daphne_h2c import ServerProcess
from zizq_server.serve.h2 import parse_headers

# The environment of each twin's server.
TWINS = {"native": {}, "hyper-h2": {"ZIZQ_NO_EXTENSIONS": "1"}}


class Client:
    """A raw h2c client connection that sends any header block and body,
    and acknowledges what it reads (or holds its window shut)."""

    def __init__(self, port: int, window: int | None = None, raw: bool = False):
        self.sock = socket.create_connection(("127.0.0.1", port), 5)
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            # raw: header blocks go as they stand, checked by the server alone
            validate_outbound_headers=not raw,
            normalize_outbound_headers=not raw,
        )
        self.conn = h2.connection.H2Connection(config)
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings(
                {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
            )
        self.ended = {}  # stream id -> its events, once ended
        self.pending = {}  # stream id -> events so far
        self.goaway = None  # the server's ConnectionTerminated, if any
        self._flush()

    def close(self) -> None:
        self.sock.close()

    def request(self, method, path, headers=(), body=b"", end=True) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        block = [
            (b":method", method),
            (b":path", path),
            (b":scheme", b"http"),
            (b":authority", b"test"),
            *headers,
        ]
        self.conn.send_headers(stream_id, block, end_stream=end and not body)
        self._flush()
        while body:
            window = self.conn.local_flow_control_window(stream_id)
            if not window:
                self._read()
                continue
            size = min(window, self.conn.max_outbound_frame_size)
            chunk, body = body[:size], body[size:]
            self.conn.send_data(stream_id, chunk, end_stream=end and not body)
            self._flush()
        return stream_id

    def reset(self, stream_id: int) -> None:
        self.conn.reset_stream(stream_id)
        self._flush()

    def response(self, stream_id: int) -> tuple[dict, bytes, list]:
        """``(headers, body, events)`` of a stream, once it has ended."""
        while stream_id not in self.ended:
            self._read()
        events = self.ended.pop(stream_id)
        (head,) = [e for e in events if isinstance(e, h2.events.ResponseReceived)]
        body = b"".join(
            e.data for e in events if isinstance(e, h2.events.DataReceived)
        )
        return dict(head.headers), body, events

    def echo(self, *args, **kwargs) -> dict:
        headers, body, _ = self.response(self.request(*args, **kwargs))
        assert headers[b":status"] == b"200"
        return json.loads(body)

    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        for event in self.conn.receive_data(data):
            stream_id = getattr(event, "stream_id", None)
            if isinstance(event, h2.events.DataReceived):
                self.conn.acknowledge_received_data(
                    event.flow_controlled_length, stream_id
                )
            if stream_id:
                self.pending.setdefault(stream_id, []).append(event)
            if isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = event
            if isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                self.ended[stream_id] = self.pending.pop(stream_id)
        self._flush()

    def _flush(self) -> None:
        self.sock.sendall(self.conn.data_to_send())


@pytest.fixture(scope="module", params=list(TWINS))
def twin(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def server(tmp_path_factory, twin):
    """The helper server on one twin, quiet to the end."""
    process = ServerProcess(
        tmp_path_factory.mktemp("markers"), "primary=127.0.0.1:0", env=TWINS[twin]
    )
    process.wait_ready()
    yield process
    assert process.stop_and_read_stderr() == ""


@pytest.fixture
def lone_server(tmp_path, twin):
    """A helper server of the test's own, on one twin."""
    process = ServerProcess(tmp_path, "primary=127.0.0.1:0", env=TWINS[twin])
    process.wait_ready()
    yield process
    process.stop()


@pytest.fixture
def client(server):
    connection = Client(server.ports["primary"])
    yield connection
    connection.close()


# -- which streams the shortcut takes ----------------------------------------


def block(*headers, method=b"GET", path=b"/x"):
    return [(b":method", method), (b":path", path), (b":scheme", b"http"), *headers]


def test_parse_headers_gives_daphnes_header_list():
    parsed = parse_headers(
        block(
            (b":authority", b"test"),
            (b"accept", b"*/*"),
            (b"x_drop", b"1"),
            (b"content-length", b"5"),
            method=b"POST",
            path=b"/jobs?a=1",
        )
    )
    assert parsed == (
        b"POST",
        b"/jobs?a=1",
        [(b"host", b"test"), (b"accept", b"*/*"), (b"content-length", b"5")],
    )
    assert parse_headers(block()) == (b"GET", b"/x", [])


@pytest.mark.parametrize(
    "headers",
    [
        block(method=b"HEAD"),
        block(method=b"G(T"),
        [(b":method", b"CONNECT"), (b":authority", b"test:443")],
        block(path=b"*"),
        block(path=b"http://test/x"),
        block(path=b"/caf\xc3\xa9"),
        block(path=b"/a b"),
        block((b"x-a", b"1"), (b"x-a", b"2")),
        block((b":authority", b"test"), (b"host", b"test")),
        block((b"expect", b"100-continue")),
        block((b"upgrade", b"websocket")),
        block((b"daphne-root-path", b"/root")),
        block((b"x(y", b"1")),
        block((b"x-a", b"a\x0bb")),
        block((b"x-a", b"a\x85b")),
    ],
)
def test_parse_headers_leaves_everything_else_to_the_stock_path(headers):
    assert parse_headers(headers) is None


# -- the same request either way --------------------------------------------


def test_the_shortcut_builds_the_scope_daphne_builds(client):
    headers = [(b"x-one", b"1"), (b"x_two", b"2"), (b"content-type", b"text/plain")]
    stock_only = [(b"daphne-root-path", b"")]
    fast = client.echo(b"POST", b"/ech%6F?q=%2F&r", headers, b"hello")
    stock = client.echo(b"POST", b"/ech%6F?q=%2F&r", headers + stock_only, b"hello")
    assert fast == stock
    assert fast["http_version"] == "2"
    assert fast["path"] == "/echo"
    assert fast["raw_path"] == "/ech%6F"
    assert fast["query_string"] == "q=%2F&r"
    assert fast["body"] == "hello"
    assert fast["headers"] == [
        ["host", "test"],
        ["x-one", "1"],
        ["content-type", "text/plain"],
    ]


def test_what_the_shortcut_leaves_is_answered_the_stock_way(client):
    headers, body, _ = client.response(client.request(b"HEAD", b"/big?100"))
    assert headers[b":status"] == b"200"
    assert body == b""
    echoed = client.echo(b"GET", b"/echo", [(b"x-a", b"1"), (b"x-a", b"2")])
    assert echoed["headers"] == [["host", "test"], ["x-a", "1"], ["x-a", "2"]]


# -- header blocks as hyper-h2 checks them (h2_inbound) ---------------------


def test_split_cookies_reach_the_application_joined(client):
    echoed = client.echo(b"GET", b"/echo", [(b"cookie", b"a=1"), (b"cookie", b"b=2")])
    assert echoed["headers"] == [["host", "test"], ["cookie", "a=1; b=2"]]


@pytest.mark.parametrize(
    "header", [(b"connection", b"close"), (b"x-a", b"padded "), (b"X-A", b"1")]
)
def test_a_header_block_hyper_h2_refuses_is_refused(server, twin, header):
    """hyper-h2 ends the connection; libnghttp2 resets the stream (RFC 9113
    section 8.1.1: a malformed request is a stream error) and serves on."""
    connection = Client(server.ports["primary"], raw=True)
    try:
        stream_id = connection.request(b"GET", b"/echo", [header])
        if twin == "native":
            while stream_id not in connection.ended:
                connection._read()
            (reset,) = connection.ended.pop(stream_id)
            assert isinstance(reset, h2.events.StreamReset)
            assert reset.error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR
            assert connection.echo(b"GET", b"/echo?next")["query_string"] == "next"
            return
        with pytest.raises(ConnectionError):
            while True:
                connection._read()
    finally:
        connection.close()
    assert connection.goaway.error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR


# A response sent at once: its head, then its body in one DATA frame that
# also ends the stream.
DIRECT = ["ResponseReceived", "DataReceived", "StreamEnded"]


def test_a_small_response_is_one_head_and_one_final_data_frame(client, twin):
    headers, body, events = client.response(client.request(b"GET", b"/big?100"))
    assert headers[b":status"] == b"200"
    assert headers[b"content-length"] == b"100"
    assert body == pattern(100)
    assert [type(e).__name__ for e in events] == DIRECT
    if twin == "native":
        return
    # Twisted's queue would have ended the stream with a frame of its own.
    stock = [(b"daphne-root-path", b"")]
    _, body, events = client.response(client.request(b"GET", b"/big?100", stock))
    assert body == pattern(100)
    assert [type(e).__name__ for e in events] != DIRECT


# -- flow control and frame sizes -------------------------------------------


def test_a_response_larger_than_a_frame_is_split_into_frames(client):
    size = 40_000  # within the default window, beyond the 16 KiB frame size
    _, body, events = client.response(client.request(b"GET", b"/big?%d" % size))
    assert body == pattern(size)
    frames = [e for e in events if isinstance(e, h2.events.DataReceived)]
    assert [len(f.data) for f in frames] == [16384, 16384, size - 32768]


def test_a_response_beyond_the_clients_window_waits_for_its_updates(server):
    client = Client(server.ports["primary"], window=1000)
    try:
        size = 100_000
        _, body, _ = client.response(client.request(b"GET", b"/big?%d" % size))
        assert body == pattern(size)
        # The queue it went through is empty again: the next one is direct.
        _, body, events = client.response(client.request(b"GET", b"/big?10"))
        assert body == pattern(10)
        assert [type(e).__name__ for e in events] == DIRECT
    finally:
        client.close()


def test_a_request_body_beyond_the_initial_window_is_read_whole(client):
    body = pattern(300_000)
    echoed = client.echo(b"POST", b"/echo", body=body)
    assert echoed["body"].encode("latin-1") == body


def test_a_response_larger_than_socket_buffers_reaches_a_slow_reader(server):
    client = Client(server.ports["primary"], window=2**31 - 1)
    try:
        client.conn.increment_flow_control_window(2**31 - 1 - 65535)
        client._flush()
        size = 16 * 1024 * 1024
        stream_id = client.request(b"GET", b"/big?%d" % size)
        time.sleep(0.3)  # the server's writes fill both kernel buffers
        _, body, _ = client.response(stream_id)
        assert body == pattern(size)
        assert client.echo(b"GET", b"/echo?next")["query_string"] == "next"
    finally:
        client.close()


# -- clients that go away, applications that fail ---------------------------


def test_a_stream_reset_before_its_body_ends_leaves_the_connection_serving(client):
    stream_id = client.request(b"POST", b"/echo", body=b"part", end=False)
    client.reset(stream_id)
    assert client.echo(b"GET", b"/echo?after")["query_string"] == "after"


def test_a_stream_reset_mid_response_reports_the_disconnect(server, client):
    stream_id = client.request(b"GET", b"/stream?h2-shortcut-reset")
    while not any(
        isinstance(e, h2.events.DataReceived) for e in client.pending.get(stream_id, ())
    ):
        client._read()
    client.reset(stream_id)
    assert server.wait_for_marker("disconnect-h2-shortcut-reset")
    assert client.echo(b"GET", b"/echo?after")["query_string"] == "after"


def test_an_application_that_raises_gets_a_500_and_a_logged_exception(lone_server):
    client = Client(lone_server.ports["primary"])
    try:
        headers, body, _ = client.response(client.request(b"GET", b"/raise"))
        assert headers[b":status"] == b"500"
        assert body == b""
        assert client.echo(b"GET", b"/echo?next")["query_string"] == "next"
    finally:
        client.close()
    stderr = lone_server.stop_and_read_stderr()
    assert "Exception inside application" in stderr
    assert "raised by /raise" in stderr


def test_an_application_that_raises_mid_response_has_its_stream_reset(lone_server):
    client = Client(lone_server.ports["primary"])
    try:
        stream_id = client.request(b"GET", b"/raise-midway")
        while stream_id not in client.ended:
            client._read()
        events = client.ended.pop(stream_id)
        kinds = [type(e).__name__ for e in events]
        assert kinds == ["ResponseReceived", "DataReceived", "StreamReset"]
        assert events[1].data == b"part"
        assert client.echo(b"GET", b"/echo?next")["query_string"] == "next"
    finally:
        client.close()
    assert "raised by /raise-midway" in lone_server.stop_and_read_stderr()


# -- misbehaving peers ---------------------------------------------------------


def tables(port: int) -> list:
    """``/h2-tables`` of the helper app, asked on a connection of its own
    (which holds one stream of its own while it asks)."""
    client = Client(port)
    try:
        headers, body, _ = client.response(client.request(b"GET", b"/h2-tables"))
        assert headers[b":status"] == b"200"
        return json.loads(body)
    finally:
        client.close()


# A connection with no stream (the priority tree holds only its root), and
# the one asking, on each twin.
IDLE = {
    "hyper-h2": {"streams": 0, "cleanup": 0, "queues": 0, "priority": 1},
    "native": {"streams": 0, "dropping": 0},
}
ASKING = {
    "hyper-h2": {"streams": 1, "cleanup": 1, "queues": 1, "priority": 2},
    "native": {"streams": 1, "dropping": 0},
}


FLOOD_CODE = {
    "hyper-h2": h2.errors.ErrorCodes.ENHANCE_YOUR_CALM,
    "native": h2.errors.ErrorCodes.INTERNAL_ERROR,
}


def test_a_reset_flood_gets_goaway_and_frees_the_connection(lone_server, twin):
    port = lone_server.ports["primary"]
    client = Client(port)
    try:
        for path in [b"/echo", b"/empty"] * 550:
            stream_id = client.conn.get_next_available_stream_id()
            client.conn.send_headers(stream_id, block((b":authority", b"t"), path=path))
            client.conn.end_stream(stream_id)
            client.conn.reset_stream(stream_id)
        # A request after the reset limit, never reset: moot once the
        # connection has ended.
        client.conn.send_headers(
            client.conn.get_next_available_stream_id(),
            block((b":authority", b"t"), path=b"/empty"),
            end_stream=True,
        )
        client._flush()
        with pytest.raises(ConnectionError):
            while True:
                client._read()
    finally:
        client.close()
    # libnghttp2's rate limit says INTERNAL_ERROR where Twisted's says
    # ENHANCE_YOUR_CALM (both: a burst of 1,000, then 33 a second).
    assert client.goaway.error_code == FLOOD_CODE[twin]
    found = sorted(tables(port), key=lambda t: t["streams"])
    assert found in ([ASKING[twin]], [IDLE[twin], ASKING[twin]])
    assert lone_server.stop_and_read_stderr() == ""


def test_a_priority_flood_is_ignored_and_the_connection_keeps_serving(
    lone_server, twin
):
    port = lone_server.ports["primary"]
    client = Client(port)
    try:
        frames = []
        for stream_id in range(101, 20_101, 2):  # idle streams, each after the last
            frame = hyperframe.frame.PriorityFrame(stream_id)
            frame.depends_on, frame.stream_weight = stream_id - 2, 16
            frames.append(frame.serialize())
        client.sock.sendall(b"".join(frames))
        # Open streams after idle and unknown parents, and the other way round.
        stream_id = client.request(b"GET", b"/stream?priority", end=True)
        for depends_on in (stream_id, 7, 0):
            frame = hyperframe.frame.PriorityFrame(stream_id + 2 + depends_on % 2)
            frame.depends_on, frame.stream_weight = depends_on, 200
            client.sock.sendall(frame.serialize())
        assert client.echo(b"GET", b"/echo?after")["query_string"] == "after"
        mine, asking = sorted(tables(port), key=lambda t: t["streams"])
        assert asking == mine == ASKING[twin]
    finally:
        client.close()
    assert lone_server.stop_and_read_stderr() == ""
