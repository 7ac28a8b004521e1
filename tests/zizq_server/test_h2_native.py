"""The libnghttp2 connection (serve/h2_native.py) against its hyper-h2 twin.

The binding must be the one running wherever it can be built; and the
same frame sequences (valid requests, refused header blocks, and random
ones under Hypothesis) sent to a server on each twin get the same answers.
The twins differ in how they refuse a malformed header block (a GOAWAY
from hyper-h2, a stream reset from libnghttp2, RFC 9113 section 8.1.1),
so a refusal compares as "refused" whichever frame carried it. libnghttp2
is stricter in two ways, both RFC 9113's: it refuses control characters
in a field value (RFC 9110 section 5.5; hyper-h2 and Daphne pass most),
whitespace at the edge of each ``cookie`` field (hyper-h2 checks them
joined), and a ``content-length`` the DATA does not match (section 8.1.1).
hyper-h2 is stricter in one: it joins ``cookie`` crumbs with "; " before
it checks for edge whitespace, so an empty last crumb (``a=1`` then an
empty one: "a=1; ") is refused, where libnghttp2 takes the crumbs as sent.
The twin keeps hyper-h2's behaviour (tests/zizq_server/test_h2_inbound.py
holds it to stock hyper-h2).
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import h2.config
import h2.connection
import h2.events
import pytest
from twisted.internet.testing import StringTransport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.zizq_server.test_daphne_h2c import REPO_ROOT, ServerProcess
from tests.zizq_server.test_h2 import TWINS, Client
from zizq_server.serve import h2c, nghttp2

NO_EXTENSIONS = bool(os.environ.get("ZIZQ_NO_EXTENSIONS"))


def _library_found() -> bool:
    """Whether setup.py would have built the binding (pkg-config finds it)."""
    if shutil.which("pkg-config") is None:
        return False
    found = subprocess.run(["pkg-config", "--exists", "libnghttp2"], check=False)
    return found.returncode == 0


def test_the_binding_runs_wherever_it_can_be_built():
    if NO_EXTENSIONS:
        assert nghttp2.IMPLEMENTATION == "python"
        assert h2c.H2_CHANNEL.__name__ == "H2Channel"
        return
    if not _library_found():
        pytest.fail("libnghttp2 is missing: scripts/setup installs libnghttp2-dev")
    assert nghttp2.IMPLEMENTATION == "cython", "serve.nghttp2._cy did not import"
    assert h2c.H2_CHANNEL.__name__ == "NativeH2Channel"


def test_no_extensions_selects_hyper_h2_in_a_fresh_interpreter():
    code = "from zizq_server.serve import h2c; print(h2c.H2_CHANNEL.__name__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, ZIZQ_NO_EXTENSIONS="1"),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["H2Channel"]


# -- the same frames to both ---------------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """One helper server per twin."""
    processes = {
        twin: ServerProcess(
            tmp_path_factory.mktemp(twin), "primary=127.0.0.1:0", env=env
        )
        for twin, env in TWINS.items()
    }
    for process in processes.values():
        process.wait_ready()
    yield processes
    for process in processes.values():
        assert process.stop_and_read_stderr() == ""


def outcome(port: int, method, path, headers, body, chunks: int = 1):
    """What a server answers one request on a fresh connection: ``refused``
    or ``(status, headers, body)`` (the echoed scope without addresses)."""
    client = Client(port, raw=True)
    try:
        stream_id = client.request(method, path, headers, end=not body)
        if body:
            size = -(-len(body) // chunks)
            for at in range(0, len(body), size):
                send_data(client, stream_id, body[at : at + size])
            # An empty DATA frame ends the stream, as the official clients do.
            client.conn.send_data(stream_id, b"", end_stream=True)
            client._flush()
        while stream_id not in client.ended:
            client._read()
    except ConnectionError:
        return "refused"
    finally:
        client.close()
    events = client.ended.pop(stream_id)
    if isinstance(events[-1], h2.events.StreamReset):
        return "refused"
    (head,) = [e for e in events if isinstance(e, h2.events.ResponseReceived)]
    data = b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived))
    if path.startswith(b"/ech") and head.headers[0][1] == b"200" and data:
        shown = json.loads(data)
        for key in ("client", "server"):
            shown.pop(key)
        data = shown
    return head.headers, data


def send_data(client: Client, stream_id: int, data: bytes) -> None:
    """``data`` on the stream, in frames its window and frame size allow."""
    conn = client.conn
    while data:
        window = conn.local_flow_control_window(stream_id)
        if not window:
            client._read()
            continue
        size = min(window, conn.max_outbound_frame_size)
        conn.send_data(stream_id, data[:size])
        data = data[size:]
        client._flush()


# Field-value bytes libnghttp2 refuses and hyper-h2 passes on.
CONTROLS = frozenset(range(0x01, 0x20)) - {0x09} | {0x7F}


def stricter(headers) -> bool:
    """Whether libnghttp2 refuses a block hyper-h2 takes (see above)."""
    return any(
        name == b"content-length"
        or CONTROLS.intersection(value)
        or (name == b"cookie" and value != value.strip(b" \t"))
        for name, value in headers
    )


def laxer(headers) -> bool:
    """Whether hyper-h2 refuses a block libnghttp2 takes (see above)."""
    cookies = [value for name, value in headers if name == b"cookie"]
    joined = b"; ".join(cookies)
    return len(cookies) > 1 and joined != joined.strip(b" \t")


def same_answer(servers, method, path, headers, body, **options):
    answers = {
        twin: outcome(process.ports["primary"], method, path, headers, body, **options)
        for twin, process in servers.items()
    }
    if answers["native"] == "refused" and stricter(headers):
        return "refused"
    if answers["hyper-h2"] == "refused" and laxer(headers):
        return answers["native"]
    assert answers["native"] == answers["hyper-h2"], answers
    return answers["native"]


@pytest.mark.parametrize(
    "method, path, headers, body",
    [
        (b"GET", b"/echo?a=1&b=%2F", [(b"accept", b"*/*")], b""),
        (b"POST", b"/echo", [(b"content-type", b"application/json")], b'{"a":1}'),
        (b"POST", b"/ech%6F", [(b"x_under", b"1"), (b"x-a", b"1")], b"x" * 70_000),
        (b"PUT", b"/echo", [(b"x-a", b"1"), (b"x-a", b"2")], b""),
        # Repeats of a name with another between: grouped, as Twisted does.
        (b"GET", b"/echo", [(b"accept", b""), (b"x-a", b""), (b"accept", b"")], b""),
        (b"GET", b"/echo", [(b"cookie", b"a=1"), (b"cookie", b"b=2")], b""),
        (b"GET", b"/echo", [(b"cookie", b""), (b"cookie", b"a=1")], b""),
        (b"GET", b"/echo", [(b"daphne-root-path", b"/root")], b""),
        (b"HEAD", b"/big?100", [], b""),
        (b"GET", b"/big?40000", [], b""),
        (b"GET", b"/empty", [], b""),
        (b"DELETE", b"/nowhere", [(b"te", b"trailers")], b""),
    ],
)
def test_valid_requests_get_the_same_answers(servers, method, path, headers, body):
    assert same_answer(servers, method, path, headers, body, chunks=3) != "refused"


@pytest.mark.parametrize(
    "headers",
    [
        [(b"connection", b"close")],
        [(b"upgrade", b"websocket")],
        [(b"te", b"gzip")],
        [(b"X-Upper", b"1")],
        [(b"x-a", b"padded ")],
        [(b"x-a", b"a\nb")],
        [(b"x-a", b"a\x00b")],
        [(b"", b"empty name")],
        [(b"x-a", b"1"), (b"x(y", b"1")],
        [(b":extra", b"pseudo")],
        [(b"x-a", b"1"), (b":path", b"/late")],
    ],
)
def test_refused_header_blocks_are_refused_by_both(servers, headers):
    assert same_answer(servers, b"GET", b"/echo", headers, b"") == "refused"


@pytest.mark.parametrize(
    "headers, body",
    [([(b"x-a", b"a\x01b")], b""), ([(b"content-length", b"5")], b"abc")],
)
def test_libnghttp2_refuses_what_rfc_9113_calls_malformed(servers, headers, body):
    port = servers["native"].ports["primary"]
    assert outcome(port, b"POST", b"/echo", headers, body) == "refused"


NAMES = st.sampled_from(
    [b"x-a", b"accept", b"content-type", b"x_b", b"cookie", b"X-C", b"te", b"x.y"]
    + [b"x(y"]
)
VALUES = st.binary(max_size=6).filter(lambda value: b"\x00" not in value)
VALUES |= st.sampled_from(
    [b"1", b"a b", b" lead", b"trail\t", b"a\x0bb", b"\x85", b"trailers"]
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    method=st.sampled_from([b"GET", b"POST", b"HEAD", b"PATCH"]),
    path=st.sampled_from([b"/echo", b"/echo?q=%20", b"/big?10", b"/empty"]),
    headers=st.lists(st.tuples(NAMES, VALUES), max_size=4),
    body=st.binary(max_size=40),
    chunks=st.integers(1, 3),
)
def test_random_requests_get_the_same_answers(
    servers, method, path, headers, body, chunks
):
    same_answer(servers, method, path, headers, body, chunks=chunks)


def test_an_empty_last_cookie_crumb_is_refused_by_hyper_h2_only(servers):
    headers = [(b"cookie", b"a=1"), (b"cookie", b"")]
    answers = {
        twin: outcome(process.ports["primary"], b"GET", b"/echo", headers, b"")
        for twin, process in servers.items()
    }
    assert answers["hyper-h2"] == "refused"
    assert answers["native"][0] == [(b":status", b"200")]


# -- a stream's end, in process ---------------------------------------------------


class _StillRunning:
    """An application task that goes on after its response: it counts the
    cancels it is sent."""

    cancels = 0

    def add_done_callback(self, callback):
        pass

    def done(self):
        return False

    def cancel(self):
        self.cancels += 1


class _Server:
    root_path = ""
    max_request_body_bytes = 0
    application_close_timeout = 0.01

    def __init__(self):
        self.task = _StillRunning()
        self.sends = []

    def start_application(self, scope, receive, send, stream):
        self.sends.append(send)
        return self.task


def test_a_completed_response_leaves_its_application_running():
    """nghttp2 closes a stream while it frames the last data: that is the
    response's end, not a client gone (which cancels the application after
    ``application_close_timeout``, and cost every request a timer)."""
    if nghttp2.IMPLEMENTATION != "cython":
        pytest.skip("ZIZQ_NO_EXTENSIONS=1: the libnghttp2 class is not under test")
    from zizq_server.serve.h2_native import NativeH2Channel

    async def run():
        server, transport = _Server(), StringTransport()
        channel = NativeH2Channel()
        channel.factory = SimpleNamespace(server=server)
        channel.makeConnection(transport)
        client = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True)
        )
        client.initiate_connection()
        request = [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                   (":authority", "x")]
        client.send_headers(1, request, end_stream=True)
        channel.dataReceived(client.data_to_send())
        (send,) = server.sends
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        events = client.receive_data(transport.value())
        assert [e.stream_id for e in events if isinstance(e, h2.events.StreamEnded)]
        await asyncio.sleep(0.05)
        return server.task.cancels

    assert asyncio.run(run()) == 0
