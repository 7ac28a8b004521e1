"""Hostile input across every endpoint: never a 5xx, a hang or a stuck job.

Hypothesis builds requests from the route table (every method of every
path, known and unknown), with query strings, headers and bodies that are
near the valid ones (one field replaced by something of the wrong kind or
size) or anything at all, and sends them to one real ``zizq serve`` over
HTTP/1.1 and over h2c. Each answer must be below 500 and, when it has a
JSON body, carry an ``error`` string for a 4xx. Raw bytes go to the socket
too. Afterwards the server must still answer, its log must hold no error
record, and its store must agree with itself: every job the list shows
can be read by id, and the counts by status add up to the total.

The run is bounded (a fixed number of examples per protocol, short client
timeouts), so it costs the same every time; it is not a timed test.
"""

import itertools
import json
import socket
import time

import httpx
import msgpack
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from .server import ServerProcess

STATUSES = ["ready", "scheduled", "in_flight", "completed", "dead"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
PATHS = [
    "/health",
    "/version",
    "/queues",
    "/reset",
    "/jobs",
    "/jobs/count",
    "/jobs/bulk",
    "/jobs/success",
    "/jobs/{id}",
    "/jobs/{id}/success",
    "/jobs/{id}/failure",
    "/jobs/{id}/errors",
    "/jobs/{id}/errors/1",
    "/crons",
    "/crons/g",
    "/crons/g/entries",
    "/crons/g/entries/e",
    "/nope",
    "/jobs/{id}/nope",
]
QUERY_KEYS = [
    "id", "queue", "type", "status", "priority", "ready_at", "attempts",
    "filter", "limit", "from", "order", "prefetch", "bogus",
]
FILTERS = [
    ".n == 1", ".", "select(.x > 5)", "$ENV", "env", "error(\"x\")",
    "def f: f; f", "last(range(100000000))", "[limit(3; repeat(1))]", "(",
    "null | .[536870000] = 1 | length > 0", "input", "$__loc__", "@base64d",
]

names = st.one_of(
    st.sampled_from(["q", "t", "", ",", "a*b", "\x00", "x" * 300, "é", "\ud7ff"]),
    st.text(max_size=20),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.sampled_from([0, 1, 65535, 65536, 2**32, 2**64 - 1, 2**64, -1, 1e308]),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
backoffs = st.fixed_dictionaries(
    {"exponent": numbers, "base_ms": numbers, "jitter_ms": numbers}
)
job_fields = {
    "queue": names,
    "type": names,
    "payload": json_values,
    "priority": numbers,
    "ready_at": numbers,
    "retry_limit": numbers,
    "backoff": backoffs | json_values,
    "retention": st.fixed_dictionaries(
        {}, optional={"completed_ms": numbers, "dead_ms": numbers}
    )
    | json_values,
    "unique_key": names,
    "unique_while": st.sampled_from(["queued", "active", "exists", "x"]),
    "batch": json_values,
    "message": st.text(max_size=30) | json_values,
    "kill": st.booleans() | json_values,
    "retry_at": numbers,
    "ids": st.lists(st.text(max_size=26), max_size=3) | json_values,
}


@st.composite
def near_valid_bodies(draw):
    """A valid-looking job or failure body with some fields replaced."""
    body = {"queue": "q", "type": "t", "payload": {"n": 1}, "message": "m"}
    for key in draw(st.lists(st.sampled_from(sorted(job_fields)), max_size=3)):
        body[key] = draw(job_fields[key])
    if draw(st.booleans()):
        body = {"jobs": [body] * draw(st.integers(0, 3))}
    return body


bodies = st.one_of(
    st.none(),
    near_valid_bodies(),
    json_values,
    st.binary(max_size=64),
    st.sampled_from(
        [b"", b"{", b'{"queue":"a","queue":"b","type":"t","payload":1}',
         b"[1e400]", b'{"priority":1e400}', b"\xff\xfe", b"{}" * 1000]
    ),
)
queries = st.dictionaries(
    st.sampled_from(QUERY_KEYS),
    st.one_of(
        st.sampled_from(STATUSES + ["", "x", ",", "..", "5..1", "1..", "-1"]),
        st.sampled_from(FILTERS),
        st.text(max_size=12),
    ),
    max_size=3,
)
content_types = st.sampled_from(
    [None, "application/json", "application/msgpack", "text/plain", "x" * 100]
)
accepts = st.sampled_from(
    [None, "application/json", "application/msgpack", "*/*", "text/html"]
)


@st.composite
def requests(draw, job_id):
    path = draw(st.sampled_from(PATHS)).replace("{id}", draw(
        st.sampled_from([job_id, "0" * 25, "x", "%00", "a" * 2000])
    ))
    method = draw(st.sampled_from(METHODS))
    headers = {}
    content_type = draw(content_types)
    if content_type:
        headers["content-type"] = content_type
    accept = draw(accepts)
    if accept:
        headers["accept"] = accept
    body = draw(bodies)
    if body is None or isinstance(body, bytes):
        content = body
    else:
        content = _encode(body, content_type)
    return method, path, draw(queries), headers, content


def _encode(body, content_type) -> bytes:
    if content_type == "application/msgpack":
        try:
            return msgpack.packb(body, use_bin_type=True)
        except OverflowError:  # wider than msgpack's 64 bits: send JSON
            pass
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("hostile") / "root")
    # A short retry limit, so that failures also kill jobs here.
    server = ServerProcess(root, ["--default-retry-limit", "2"]).start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def seeded_job(hostile_server):
    with hostile_server.client() as c:
        r = c.post("/jobs", json={"queue": "q", "type": "t", "payload": {"n": 1}})
        assert r.status_code == 201
        return r.json()["id"]


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400 and response.headers.get(
        "content-type", ""
    ).startswith("application/json") and response.content:
        body = response.json()
        assert isinstance(body.get("error"), str), body


def _send(client: httpx.Client, request) -> None:
    method, path, params, headers, content = request
    if path.startswith("/jobs/take"):
        return
    try:
        response = client.request(
            method, path, params=params, headers=headers, content=content
        )
    except httpx.RemoteProtocolError as exc:  # pragma: no cover - a finding
        raise AssertionError(f"connection dropped on {request!r}: {exc}")
    _check(response)


def _fuzz(client_factory, hostile_server, seeded_job):
    with client_factory() as client:

        @settings(
            max_examples=300,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(requests(seeded_job))
        def run(request):
            _send(client, request)

        run()


def test_hostile_requests_http1(hostile_server, seeded_job):
    _fuzz(hostile_server.client, hostile_server, seeded_job)


def test_hostile_requests_h2c(hostile_server, seeded_job):
    _fuzz(hostile_server.h2_client, hostile_server, seeded_job)


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(
    params=queries,
    accept=st.sampled_from(
        [None, "application/x-ndjson", "text/event-stream", "text/html",
         "application/msgpack"]
    ),
)
def test_hostile_take_streams(hostile_server, params, accept):
    headers = {"accept": accept} if accept else {}
    with hostile_server.client() as client:
        with client.stream("GET", "/jobs/take", params=params, headers=headers,
                           timeout=5.0) as response:
            if response.status_code >= 400:
                response.read()
            _check(response)


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.one_of(
    st.binary(max_size=300),
    st.sampled_from([
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET /jobs HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST /jobs HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST /jobs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00" * 40,
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
        b"GET /jobs HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
    ]),
))
def test_hostile_raw_bytes(hostile_server, data):
    with socket.create_connection(("127.0.0.1", hostile_server.port), 5) as sock:
        sock.settimeout(2.0)
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        try:
            answer = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 5"), answer[:200]


_queue_numbers = itertools.count()
failure_bodies = st.fixed_dictionaries(
    {"message": st.text(max_size=10)},
    optional={
        "retry_at": st.just(0) | numbers,
        "kill": st.booleans(),
        "error_type": st.text(max_size=10),
    },
)
job_options = st.fixed_dictionaries(
    {},
    optional={
        "backoff": backoffs,
        "retry_limit": numbers,
        "retention": st.fixed_dictionaries(
            {}, optional={"completed_ms": numbers, "dead_ms": numbers}
        ),
        "priority": numbers,
    },
)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(options=job_options, failures=st.lists(failure_bodies, min_size=1, max_size=3))
# The issue's case: the second failure's backoff overflowed and the job stuck.
@example(
    options={"backoff": {"exponent": 1000, "base_ms": 0, "jitter_ms": 0}},
    failures=[{"message": "m", "retry_at": 0}, {"message": "m"}],
)
def test_hostile_failures_never_leave_a_job_stuck(hostile_server, options, failures):
    """A job with odd options fails a few times: each answer is below 500
    and the job always ends where its status says it is."""
    with hostile_server.client() as client:
        queue = f"hq-{next(_queue_numbers)}"
        body = {"queue": queue, "type": "t", "payload": None, **options}
        created = client.post("/jobs", content=_encode(body, None))
        _check(created)
        if created.status_code != 201:
            return
        job_id = created.json()["id"]
        for failure in failures:
            if not _ready_soon(client, job_id):
                break
            with client.stream("GET", "/jobs/take", params={"queue": queue},
                               timeout=5.0) as stream:
                line = next(line for line in stream.iter_lines() if line)
                assert json.loads(line)["id"] == job_id
                failed = client.post(
                    f"/jobs/{job_id}/failure", content=_encode(failure, None)
                )
                _check(failed)
        _settle(client, queue)
        counts = {
            s: client.get("/jobs/count", params={"queue": queue, "status": s})
            .json()["count"]
            for s in STATUSES
        }
        got = client.get(f"/jobs/{job_id}")
        if got.status_code == 404:
            assert sum(counts.values()) == 0, counts
        else:
            assert counts[got.json()["status"]] == 1, (got.json(), counts)
            assert counts["in_flight"] == 0, counts


def _settle(client, queue=None) -> None:
    """Wait (a few seconds at most) until the streams the test closed are
    seen as gone and their jobs are back: nothing is in flight then."""
    params = {"status": "in_flight", **({"queue": queue} if queue else {})}
    for _ in range(50):
        if client.get("/jobs/count", params=params).json()["count"] == 0:
            return
        time.sleep(0.1)


def _ready_soon(client, job_id) -> bool:
    """Whether the job is ready, or becomes so within a few seconds (a
    failure with a past ``retry_at`` schedules it for the scheduler to
    promote)."""
    for _ in range(30):
        job = client.get(f"/jobs/{job_id}").json()
        if job.get("status") == "ready":
            return True
        if job.get("status") != "scheduled" or job["ready_at"] > time.time() * 1000:
            return False
        time.sleep(0.1)
    return False


def test_server_is_whole_after_the_run(hostile_server):
    """Runs last in this module: the server answers, logs no error and its
    store agrees with itself."""
    with hostile_server.client() as client:
        assert client.get("/health").status_code == 200
        _settle(client)
        total = client.get("/jobs/count").json()["count"]
        by_status = sum(
            client.get("/jobs/count", params={"status": s}).json()["count"]
            for s in STATUSES
        )
        assert by_status == total
        listed, page = [], "/jobs?limit=200"
        while page:
            body = client.get(page).json()
            listed += body["jobs"]
            page = body["pages"]["next"]
        assert len(listed) == total
        for job in listed:
            got = client.get(f"/jobs/{job['id']}")
            assert got.status_code == 200, got.text
            assert got.json()["status"] == job["status"]
    errors = [r for r in hostile_server.lines if r.get("level") == "ERROR"]
    assert errors == [], errors[:3]
