"""HTTP/1.1's shortcut (serve/http1.py): which requests it takes, and that a
request gets the same treatment whichever way it goes.

The server is the raw ASGI helper app of test_daphne_h2c.py; ``/echo``
answers with the scope and body the application saw. A request with
``Transfer-Encoding: chunked`` always goes the stock way (Twisted's parser
and Daphne's request), so it is the reference the shortcut is held to.
"""

import asyncio
import json
import socket
import time
from types import SimpleNamespace

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from tests.zizq_server._bodies import pattern
from tests.zizq_server._wire import read_head, read_response
from zizq_server.serve.http1 import MAX_BODY_BYTES, Http1Channel, parse_head


class Connection:
    """One keep-alive connection, written to raw and read a response at a time."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), 5)
        self.reader = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[bytes, dict, bytes]:
        return read_response(self.reader)

    def echo(self, request: bytes) -> dict:
        self.send(request)
        status, _, body = self.response()
        assert status == b"HTTP/1.1 200 OK"
        return json.loads(body)

    def at_eof(self) -> bool:
        return self.reader.read(1) == b""

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def conn(server):
    connection = Connection(server.ports["primary"])
    yield connection
    connection.close()


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"


# -- which heads the shortcut takes ------------------------------------------


def parse(head: bytes):
    """parse_head of a head written without its last line's CRLF."""
    return parse_head(head + b"\r\n")


def test_parse_head_takes_the_everyday_request():
    head = (
        b"POST /jobs?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
        b"Content-Length: 12\r\nConnection: keep-alive\r\nX-Trace:  a b \t"
    )
    method, target, headers, length = parse(head)
    assert (method, target, length) == (b"POST", b"/jobs?x=1", 12)
    assert headers == [
        (b"host", b"h"),
        (b"content-type", b"application/json"),
        (b"content-length", b"12"),
        (b"connection", b"keep-alive"),
        (b"x-trace", b"a b"),
    ]


def test_parse_head_without_length_has_an_empty_body():
    assert parse(b"GET / HTTP/1.1\r\nHost: h") == (b"GET", b"/", [(b"host", b"h")], 0)


def test_parse_head_drops_header_names_with_underscores_as_daphne_does():
    _, _, headers, _ = parse(b"GET / HTTP/1.1\r\nX_Forged: 1\r\nX-Real: 2")
    assert headers == [(b"x-real", b"2")]


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.0",
        b"HEAD / HTTP/1.1",
        b"GET http://h/ HTTP/1.1",
        b"OPTIONS * HTTP/1.1",
        b"GET /a b HTTP/1.1",
        b"GET  / HTTP/1.1",
        b"G(T / HTTP/1.1",
        b"GET /\x80 HTTP/1.1",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5",
        b"GET / HTTP/1.1\r\nUpgrade: websocket",
        b"GET / HTTP/1.1\r\nConnection: close",
        b"GET / HTTP/1.1\r\nConnection: Upgrade",
        b"GET / HTTP/1.1\r\nDaphne-Root-Path: /x",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5",
        b"POST / HTTP/1.1\r\nContent-Length: -5",
        b"POST / HTTP/1.1\r\nContent-Length: 5x",
        b"GET / HTTP/1.1\r\nX-A: 1\r\n folded",
        b"GET / HTTP/1.1\r\nX A: 1",
        b"GET / HTTP/1.1\r\nno-colon",
        b"GET / HTTP/1.1\r\nX-A: a\x00b",
        b"GET / HTTP/1.1\r\nX-A: a\nb",
        b"GET / HTTP/1.1\r\nX-A: a\x0bb",
        b"GET / HTTP/1.1\r\nX-A: a\x85b",
    ],
)
def test_parse_head_leaves_everything_else_to_the_stock_path(head):
    assert parse(head) is None


# -- the same request either way --------------------------------------------


def test_the_shortcut_builds_the_scope_daphne_builds(conn):
    head = b"POST /ech%6F?q=%2F&r HTTP/1.1\r\nHost: test\r\nX-One: 1\r\nX_Two: 2\r\n"
    fast = conn.echo(head + b"Content-Length: 5\r\n\r\nhello")
    stock = conn.echo(head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"hello"))
    fast_headers, stock_headers = fast.pop("headers"), stock.pop("headers")
    assert fast == stock
    assert fast["path"] == "/echo"
    assert fast["raw_path"] == "/ech%6F"
    assert fast["query_string"] == "q=%2F&r"
    assert fast["body"] == "hello"
    assert fast_headers[:2] == stock_headers[:2] == [["host", "test"], ["x-one", "1"]]
    assert fast_headers[2] == ["content-length", "5"]


def test_a_body_larger_than_the_shortcut_buffers_goes_the_stock_way(conn):
    body = pattern(MAX_BODY_BYTES + 1)
    conn.send(b"POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    status, _, answer = conn.response()
    assert status == b"HTTP/1.1 200 OK"
    assert json.loads(answer)["body"].encode("latin-1") == body


def test_a_head_larger_than_the_shortcut_parses_goes_the_stock_way(conn):
    big = b"X-Big: " + b"b" * 10_000 + b"\r\n"
    echoed = conn.echo(b"GET /echo HTTP/1.1\r\n" + big + b"\r\n")
    assert echoed["headers"] == [["x-big", "b" * 10_000]]


def test_a_header_twisted_refuses_gets_twisteds_400(conn):
    conn.send(b"GET /echo HTTP/1.1\r\nX-A: a\x00b\r\n\r\n")
    status, _, _ = conn.response()
    assert status.startswith(b"HTTP/1.1 400")


# -- arrival, pipelining, responses -----------------------------------------


def test_a_request_arriving_a_byte_at_a_time_is_served(conn):
    request = b"POST /echo?slow HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world"
    for byte in request:
        conn.send(bytes([byte]))
        time.sleep(0.001)
    echoed = json.loads(conn.response()[2])
    assert (echoed["query_string"], echoed["body"]) == ("slow", "hello world")


def test_pipelined_requests_are_answered_in_order(conn):
    conn.send(
        b"POST /echo?1 HTTP/1.1\r\nContent-Length: 3\r\n\r\none"
        b"GET /echo?2 HTTP/1.1\r\n\r\n"
        b"POST /echo?3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(b"three")
        + b"GET /echo?4 HTTP/1.1\r\n\r\n"
    )
    answers = [json.loads(conn.response()[2]) for _ in range(4)]
    assert [a["query_string"] for a in answers] == ["1", "2", "3", "4"]
    assert [a["body"] for a in answers] == ["one", "", "three", ""]


def test_a_shortcut_request_then_connection_close_ends_with_eof(conn):
    conn.send(
        b"GET /echo?1 HTTP/1.1\r\n\r\nGET /echo?2 HTTP/1.1\r\nConnection: close\r\n\r\n"
    )
    assert json.loads(conn.response()[2])["query_string"] == "1"
    assert json.loads(conn.response()[2])["query_string"] == "2"
    assert conn.at_eof()


def test_a_body_in_one_message_gets_a_content_length(conn):
    conn.send(b"GET /echo HTTP/1.1\r\n\r\n")
    _, headers, body = conn.response()
    assert int(headers["content-length"]) == len(body)
    assert "transfer-encoding" not in headers


def test_a_204_has_neither_body_nor_length(conn):
    conn.send(b"GET /empty HTTP/1.1\r\n\r\nGET /empty HTTP/1.1\r\n\r\n")
    for _ in range(2):
        status, headers, _ = conn.response()
        assert status == b"HTTP/1.1 204 No Content"
        assert headers == {}


def test_response_header_names_are_canonicalised_as_twisted_does(conn):
    conn.send(b"GET /big?3 HTTP/1.1\r\n\r\n")
    conn.sock.settimeout(2)
    raw = conn.reader.read1(4096)
    assert raw == b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" + pattern(3)


def test_a_client_gone_mid_body_leaves_the_server_serving(server, conn):
    conn.send(b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly some")
    conn.close()
    other = Connection(server.ports["primary"])
    try:
        echoed = other.echo(b"GET /echo?after HTTP/1.1\r\n\r\n")
        assert echoed["query_string"] == "after"
    finally:
        other.close()


def test_a_stream_reports_disconnect_when_its_client_goes(server, conn):
    conn.send(b"GET /stream?shortcut-close HTTP/1.1\r\n\r\n")
    status, headers = read_head(conn.reader)
    assert status == b"HTTP/1.1 200 OK"
    assert headers["transfer-encoding"] == b"chunked"
    assert conn.reader.readline() == b"8\r\n"
    assert conn.reader.read(10) == b"chunk 1\n\r\n"
    conn.close()
    assert server.wait_for_marker("disconnect-shortcut-close")


def test_an_application_that_raises_gets_a_500_and_a_logged_exception(lone_server):
    conn = Connection(lone_server.ports["primary"])
    try:
        conn.send(b"GET /raise HTTP/1.1\r\n\r\n")
        status, _, body = conn.response()
        assert status == b"HTTP/1.1 500 Internal Server Error"
        assert body == b""
        # The connection goes on serving.
        assert conn.echo(b"GET /echo?next HTTP/1.1\r\n\r\n")["query_string"] == "next"
    finally:
        conn.close()
    stderr = lone_server.stop_and_read_stderr()
    assert "Exception inside application" in stderr
    assert "raised by /raise" in stderr


def test_an_application_that_raises_mid_response_has_its_connection_closed(
    lone_server,
):
    conn = Connection(lone_server.ports["primary"])
    try:
        conn.send(b"GET /raise-midway HTTP/1.1\r\n\r\n")
        status, headers = read_head(conn.reader)
        assert status == b"HTTP/1.1 200 OK"
        assert headers["transfer-encoding"] == b"chunked"
        # The chunk sent before the failure, then the end of the connection
        # rather than a last chunk: the client sees the body is cut short.
        assert conn.reader.read() == b"4\r\npart\r\n"
    finally:
        conn.close()
    assert "raised by /raise-midway" in lone_server.stop_and_read_stderr()


# -- the idle timeout, on a clock -------------------------------------------


class _Running:
    """An application task that never ends by itself."""

    def add_done_callback(self, callback):
        pass

    def done(self):
        return False


class _Server:
    root_path = ""
    application_close_timeout = 10

    def __init__(self):
        self.started = []

    def start_application(self, scope, receive, send):
        self.started.append((scope, send))
        return _Running()


def test_the_idle_timeout_waits_while_a_request_is_in_flight():
    clock = Clock()
    channel = Http1Channel()
    channel.factory = SimpleNamespace(server=_Server())
    channel.callLater = clock.callLater
    channel.timeOut = 5
    transport = StringTransport()
    channel.makeConnection(transport)
    channel.dataReceived(b"GET /stream HTTP/1.1\r\n\r\n")
    ((scope, send),) = channel.factory.server.started
    assert scope["path"] == "/stream"

    clock.advance(60)  # a quiet stream outlives the idle timeout
    assert not transport.disconnecting
    asyncio.run(send({"type": "http.response.start", "status": 200}))
    asyncio.run(send({"type": "http.response.body", "body": b"done"}))
    assert transport.value().endswith(b"Content-Length: 4\r\n\r\ndone")

    # Idle now: the timeout, re-armed at t=60, closes the connection at 65.
    clock.advance(4)
    assert not transport.disconnecting
    clock.advance(2)
    assert transport.disconnecting


# -- half-closed clients and oversized heads ---------------------------------


def exchange_then_eof(port: int, request: bytes, half_close: bool) -> bytes:
    """Send ``request`` (then shut down the sending side, if asked) and
    return all the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


GET_ECHO = b"GET /echo?a HTTP/1.1\r\nHost: t\r\n\r\n"
# Twisted's parser and Daphne's request take a chunked body.
CHUNKED_ECHO = (
    b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nhi\r\n0\r\n\r\n"
)


@pytest.mark.parametrize(
    "request_bytes, answers",
    [
        (GET_ECHO, 1),
        (GET_ECHO * 2, 2),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi", 1),
        (CHUNKED_ECHO, 1),
    ],
    ids=["shortcut", "pipelined", "body", "stock"],
)
def test_a_client_that_half_closes_gets_its_answers_then_eof(
    server, request_bytes, answers
):
    data = exchange_then_eof(server.ports["primary"], request_bytes, half_close=True)
    assert data.count(b"HTTP/1.1 200 OK\r\n") == answers
    assert data.count(b'"body": ') == answers  # each /echo body, to its end


def test_a_half_close_without_a_whole_request_closes(server):
    data = exchange_then_eof(server.ports["primary"], b"GET /echo HTTP/1.1\r\n", True)
    assert data == b""


@pytest.mark.parametrize(
    "head, status, error",
    [
        (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: t\r\n", 414,
         "request line too long"),
        (b"GET /echo HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n", 431,
         "request header too large"),
        (b"GET /echo HTTP/1.1\r\n" + b"X-Many: %s\r\n" % (b"a" * 200) * 100, 431,
         "request headers too large"),
    ],
    ids=["request-line", "header-line", "headers"],
)
def test_an_oversized_head_gets_its_4xx_as_json(server, head, status, error):
    data = exchange_then_eof(server.ports["primary"], head + b"\r\n", False)
    response_head, _, body = data.partition(b"\r\n\r\n")
    assert response_head.startswith(b"HTTP/1.1 %d " % status)
    assert b"Content-Type: application/json" in response_head
    assert json.loads(body) == {"error": error}
    # The next connection is served as ever.
    conn = Connection(server.ports["primary"])
    try:
        echoed = conn.echo(b"GET /echo?next HTTP/1.1\r\nHost: t\r\n\r\n")
        assert echoed["query_string"] == "next"
    finally:
        conn.close()
