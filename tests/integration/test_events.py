"""``GET /events`` against a real server (ADMIN_AND_CLI.md 6.3, ADM-01..10).

Free tier throughout (windows capped at 10); the licensed limits are in
test_events_licensed.py.
"""

import json
import os
import socket
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .events import EventsClient, changes, ids
from .jobs import HOUR, now_ms, put
from .streams import TakeStream

SERVER_KEYS = [
    "version",
    "uptime_ms",
    "tier",
    "total_ready",
    "total_in_flight",
    "total_scheduled",
    "subscription_limit",
]
JOB_KEYS = ["id", "queue", "job_type", "priority", "ready_at", "attempts"]


@pytest.fixture
def events(server):
    clients = []

    def open_(**options):
        client = EventsClient(server, **options)
        clients.append(client)
        return client

    yield open_
    for client in clients:
        client.close()


def test_plain_get_of_events_is_refused_with_400(server):
    r = httpx.get(server.admin_url + "/events")
    assert r.status_code == 400
    assert r.text == "Connection header did not include 'upgrade'"


def test_primary_listener_has_no_events_websocket(server):
    url = f"ws://127.0.0.1:{server.port}/events"
    with pytest.raises(InvalidStatus) as refused, connect(url):
        pass
    assert refused.value.response.status_code == 403


def test_first_message_is_a_snapshot_of_all_three_lists(server, client, events):
    ready = [put(client, queue="emails", priority=p) for p in (5, 1, 3)]
    later = put(client, ready_at=now_ms() + HOUR)
    stream = TakeStream(server.port, "prefetch=1")
    taken = stream.read_job()
    assert taken["id"] == ready[1]["id"]
    snapshot = events().next()
    assert snapshot["event"] == "job_snapshot"
    assert list(snapshot) == ["server", "event", "ready", "in_flight", "scheduled"]
    server_status = snapshot["server"]
    assert list(server_status) == SERVER_KEYS
    assert server_status["version"] == "0.6.1"
    assert server_status["tier"] == "free"
    assert server_status["subscription_limit"] == 10
    assert (
        server_status["total_ready"],
        server_status["total_in_flight"],
        server_status["total_scheduled"],
    ) == (2, 1, 1)
    assert ids(snapshot["ready"]) == [ready[2]["id"], ready[0]["id"]]  # by priority
    assert snapshot["ready"]["first_position"] == 0
    assert snapshot["ready"]["total"] == 2
    assert "resolved_anchor" not in snapshot["ready"]
    [in_flight] = snapshot["in_flight"]["items"]
    assert list(in_flight) == JOB_KEYS + ["dequeued_at"]
    assert in_flight["job_type"] == "t" and in_flight["queue"] == "emails"
    assert ids(snapshot["scheduled"]) == [later["id"]]
    stream.close()


def test_heartbeat_reaches_every_client_with_the_envelope(server, events):
    first, second = events(), events()
    for ws in (first, second):
        ws.next()  # the snapshot
        beat = ws.recv(timeout=10)
        assert beat["event"] == "heartbeat"
        assert list(beat) == ["server", "event"]
        assert list(beat["server"]) == SERVER_KEYS


def test_free_tier_caps_every_window_at_ten(server, client, events):
    r = client.post("/jobs/bulk", json={"jobs": [_job() for _ in range(50)]})
    assert r.status_code == 201
    ws = events()
    snapshot = ws.next()
    assert len(snapshot["ready"]["items"]) == 10
    assert snapshot["ready"]["total"] == 50
    again = ws.subscribe("ready", limit=40, kind="head")
    assert len(again["ready"]["items"]) == 10
    assert again["server"]["subscription_limit"] == 10


def test_enqueue_yields_a_ready_change_with_the_job(server, client, events):
    ws = events()
    ws.next()
    job = put(client, queue="emails", type="send", payload={"to": "x"})
    [message] = ws.barrier()
    assert message["event"] == "job_changed"
    assert list(message) == ["server", "event", "id", "status", "job"]
    assert (message["id"], message["status"]) == (job["id"], "ready")
    assert list(message["job"]) == JOB_KEYS
    assert message["job"]["job_type"] == "send" and "type" not in message["job"]
    assert message["server"]["total_ready"] == 1


def test_take_yields_in_flight_then_ready_removed(server, client, events):
    ws = events()
    ws.next()
    job = put(client)
    ws.barrier()
    stream = TakeStream(server.port)
    stream.read_job()
    # The take's turn ends before the barrier's request is read.
    assert changes(ws.barrier()) == [("in_flight", job["id"]), ("ready_removed", job["id"])]
    stream.close()
    _wait_for_status(client, job["id"], "ready")
    assert changes(ws.barrier()) == [("ready", job["id"]), ("in_flight_removed", job["id"])]


def _wait_for_status(client, job_id, status):
    """The server sees a closed stream on its own time: wait for the requeue."""
    deadline = time.monotonic() + 10
    while client.get(f"/jobs/{job_id}").json()["status"] != status:
        assert time.monotonic() < deadline, f"{job_id} never became {status}"
        time.sleep(0.01)


def _taken(server, client, ws, count=1):
    jobs = [put(client) for _ in range(count)]
    stream = TakeStream(server.port, f"prefetch={count}")
    stream.read_jobs(count)
    ws.barrier()
    return jobs, stream


def test_ack_yields_completed_then_in_flight_removed(server, client, events):
    ws = events()
    ws.next()
    [job], stream = _taken(server, client, ws)
    assert client.post(f"/jobs/{job['id']}/success").status_code == 204
    messages = ws.barrier()
    assert changes(messages) == [("completed", job["id"]), ("in_flight_removed", job["id"])]
    assert "job" not in messages[0]
    assert messages[-1]["server"]["total_in_flight"] == 0
    stream.close()


def test_nack_marks_dead_even_when_retried_then_schedules(server, client, events):
    ws = events()
    ws.next()
    (retried, killed), stream = _taken(server, client, ws, count=2)
    r = client.post(f"/jobs/{retried['id']}/failure", json={"message": "boom"})
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    assert changes(ws.barrier()) == [
        ("dead", retried["id"]),
        ("in_flight_removed", retried["id"]),
        ("scheduled", retried["id"]),
    ]
    r = client.post(f"/jobs/{killed['id']}/failure", json={"message": "x", "kill": True})
    assert r.json()["status"] == "dead"
    assert changes(ws.barrier()) == [
        ("dead", killed["id"]),
        ("in_flight_removed", killed["id"]),
    ]
    stream.close()


def test_every_ack_is_marked_even_outside_the_window(server, client, events):
    """A bulk ack of 1,000 jobs, 990 of them never in the 10-job in-flight
    window: 1,000 markers, then the window's removals, and no snapshot."""
    ws = events()
    ws.next()
    taken = _ready(client, 1_000)
    stream = TakeStream(server.port, "prefetch=1000")
    stream.read_jobs(1_000)
    ws.barrier()
    r = client.post("/jobs/success", json={"ids": taken[::-1]})
    assert r.status_code in (200, 204), r.text
    got = changes(ws.barrier())
    assert got[:1_000] == [("completed", job_id) for job_id in taken[::-1]]
    assert sorted(got[1_000:]) == sorted(("in_flight_removed", i) for i in taken[:10])
    stream.close()


def test_a_turn_too_big_for_a_client_is_one_snapshot_instead(make_server):
    """A bulk ack of 6,000 jobs is 6,000 markers, more than the megabyte a
    client may have waiting: it is sent none of them, then one snapshot
    (the spec's snapshot after the server detects missed events)."""
    server = make_server("--global-in-flight-limit", "0")
    with server.client() as client, EventsClient(server) as ws:
        ws.next()
        taken = _ready(client, 6_000)
        stream = TakeStream(server.port, "prefetch=0")
        stream.read_jobs(6_000, timeout=60)
        ws.barrier()
        r = client.post("/jobs/success", json={"ids": taken})
        assert r.status_code in (200, 204), r.text
        [snapshot] = ws.barrier()
        assert snapshot["event"] == "job_snapshot"
        assert snapshot["in_flight"]["total"] == 0
        stream.close()


def test_scheduled_enqueue_and_delete_diff_their_lists(server, client, events):
    ws = events()
    ws.next()
    later = put(client, ready_at=now_ms() + HOUR)
    assert changes(ws.barrier()) == [("scheduled", later["id"])]
    assert client.delete(f"/jobs/{later['id']}").status_code == 204
    assert changes(ws.barrier()) == [("scheduled_removed", later["id"])]


def test_patch_sends_a_full_snapshot(server, client, events):
    job = put(client)
    ws = events()
    ws.next()
    r = client.patch(f"/jobs/{job['id']}", json={"priority": 7})
    assert r.status_code == 200
    [snapshot] = ws.barrier()
    assert snapshot["event"] == "job_snapshot"
    assert snapshot["ready"]["items"][0]["priority"] == 7


def test_delete_job_message_deletes_as_the_api_does(server, client, events):
    keep, gone = put(client), put(client)
    ws = events()
    ws.next()
    ws.send(type="delete_job", id=gone["id"])
    assert changes(ws.barrier()) == [("ready_removed", gone["id"])]
    assert client.get(f"/jobs/{gone['id']}").status_code == 404
    assert client.get(f"/jobs/{keep['id']}").status_code == 200
    ws.send(type="delete_job", id=gone["id"])  # gone already: nothing
    assert ws.barrier() == []


def _job(**fields):
    return {"queue": "q", "type": "t", "payload": None, **fields}


def _ready(client, count):
    r = client.post("/jobs/bulk", json={"jobs": [_job() for _ in range(count)]})
    assert r.status_code == 201
    return [job["id"] for job in r.json()["jobs"]]


def test_subscribe_anchors_place_the_window(server, client, events):
    order = _ready(client, 30)
    ws = events()
    ws.next()

    def window(**anchor):
        snapshot = ws.subscribe("ready", limit=10, **anchor)
        return snapshot["ready"]

    head = window(kind="head")
    assert (ids(head), head["first_position"], head["total"]) == (order[:10], 0, 30)
    tail = window(kind="tail")
    assert (ids(tail), tail["first_position"]) == (order[20:], 20)
    offset = window(kind="offset", offset=7)
    assert (ids(offset), offset["first_position"]) == (order[7:17], 7)
    past = window(kind="offset", offset=1000)
    assert (ids(past), past["first_position"]) == (order[20:], 20)
    centred = window(kind="around", id=order[15])
    assert (ids(centred), centred["first_position"]) == (order[10:20], 10)
    assert centred["resolved_anchor"] == order[15]
    near_head = window(kind="around", id=order[2])
    assert near_head["first_position"] == 0
    near_tail = window(kind="around", id=order[28])
    assert near_tail["first_position"] == 20
    for fallback, expected in (("head", order[:10]), ("tail", order[20:])):
        missing = window(kind="around", id="nope", fallback=fallback)
        assert ids(missing) == expected and "resolved_anchor" not in missing
    nowhere = window(kind="around", id="nope")
    assert (nowhere["items"], nowhere["first_position"], nowhere["total"]) == ([], 0, 30)
    empty = ws.subscribe("scheduled", limit=10, kind="tail")["scheduled"]
    assert empty == {"items": [], "first_position": 0, "total": 0}


def test_a_subscription_keeps_its_anchor_as_the_list_changes(server, client, events):
    order = _ready(client, 12)
    ws = events()
    ws.next()
    ws.subscribe("ready", limit=10, kind="tail")
    [new] = [put(client)["id"]]
    assert changes(ws.barrier()) == [("ready_removed", order[2]), ("ready", new)]


def test_detail_level_adds_the_detail_fields(server, client, events):
    job = put(
        client,
        payload={"a": 1},
        retry_limit=3,
        backoff={"base_ms": 10, "exponent": 2.0, "jitter_ms": 5},
        retention={"dead_ms": 60000},
    )
    ws = events()
    ws.next()
    ws.send(type="set_detail_level", detail=True)
    [item] = ws.next()["ready"]["items"]
    assert list(item) == JOB_KEYS + ["retry_limit", "backoff", "retention"]
    assert item["retry_limit"] == 3
    assert item["backoff"] == {"base_ms": 10, "exponent": 2.0, "jitter_ms": 5}
    assert item["retention"] == {"dead_ms": 60000}
    other = put(client)
    [added] = ws.barrier()
    assert added["id"] == other["id"] and list(added["job"]) == JOB_KEYS
    ws.send(type="set_detail_level", detail=False)
    items = ws.next()["ready"]["items"]
    assert [list(i) for i in items] == [JOB_KEYS, JOB_KEYS]
    assert items[0]["id"] == job["id"]


def test_find_walks_in_every_direction(server, client, events):
    jobs = []
    for queue, type_ in [("a", "x"), ("emails", "send"), ("b", "x"), ("emails", "y")]:
        jobs.append(put(client, queue=queue, type=type_)["id"])
    ws = events()
    ws.next()
    start = {"kind": "start"}
    end = {"kind": "end"}

    def at(job_id):
        return {"kind": "job_id", "id": job_id}

    first = ws.find("ready", start, "forward", queues=["emai"])
    assert first["event"] == "find_result" and first["list"] == "ready"
    assert first["matched_position"] == 1
    window = first["window"]
    assert window["resolved_anchor"] == jobs[1]
    assert (window["first_position"], window["total"], ids(window)) == (0, 4, jobs)
    assert ws.find("ready", at(jobs[1]), "forward", queues=["emai"])["matched_position"] == 3
    assert ws.find("ready", at(jobs[3]), "forward", queues=["emai"])["matched_position"] is None
    assert ws.find("ready", end, "backward", types=["x"])["matched_position"] == 2
    assert ws.find("ready", at(jobs[2]), "backward", types=["x"])["matched_position"] == 0
    assert ws.find("ready", at(jobs[0]), "backward")["matched_position"] is None
    both = ws.find("ready", start, "forward", queues=["a", "b"], types=["x"])
    assert both["matched_position"] == 0
    # An anchor not in the list: forward from the start, backward from the end.
    assert ws.find("ready", at("gone"), "forward", types=["y"])["matched_position"] == 3
    assert ws.find("ready", at("gone"), "backward", types=["send"])["matched_position"] == 1
    located = ws.find("ready", at(jobs[2]), "locate", limit=2, types=["nothing"])
    assert located["matched_position"] == 2
    assert located["window"]["first_position"] == 1 and len(located["window"]["items"]) == 2
    for anchor, direction in ((at("gone"), "locate"), (start, "backward"), (end, "forward")):
        miss = ws.find("ready", anchor, direction)
        assert miss["matched_position"] is None
        assert miss["window"] == {"items": [], "first_position": 0, "total": 0}
    empty = ws.find("scheduled", start, "forward")
    assert empty["matched_position"] is None and empty["window"]["total"] == 0


def test_find_windows_are_not_capped_and_carry_no_detail(server, client, events):
    order = _ready(client, 30)
    ws = events()
    ws.next()
    ws.send(type="set_detail_level", detail=True)
    ws.next()
    found = ws.find("ready", {"kind": "job_id", "id": order[20]}, "locate", limit=20)
    window = found["window"]
    assert ids(window) == order[10:30]
    assert all(list(item) == JOB_KEYS for item in window["items"])


def test_unparsable_messages_and_binary_frames_are_ignored(server, client, events):
    ws = events()
    ws.next()
    for junk in [
        "not json",
        "[1, 2]",
        '{"type": "nope"}',
        '{"type": "subscribe", "list": "ready", "anchor": {"kind": "head"}}',
        '{"type": "subscribe", "list": "ready", "anchor": {"kind": "head"}, "limit": -1}',
        '{"type": "subscribe", "list": "ready", "anchor": {"kind": "head"}, "limit": 1.5}',
        '{"type": "subscribe", "list": ["ready"], "anchor": {"kind": "head"}, "limit": 1}',
        (
            '{"type": "subscribe", "list": "ready", "anchor": {"kind": "around",'
            ' "id": "x", "fallback": "left"}, "limit": 1}'
        ),
        '{"type": "set_detail_level", "detail": "yes"}',
        '{"type": "delete_job"}',
        (
            '{"type": "find", "list": "ready", "anchor": {"kind": "start"},'
            ' "limit": 1, "direction": "sideways"}'
        ),
        (
            '{"type": "find", "list": "ready", "anchor": {"kind": "start"},'
            ' "limit": 1, "direction": "forward", "query": {"queues": "q"}}'
        ),
        '{"type": {"a": 1}}',
    ]:
        ws.ws.send(junk)
    ws.ws.send(b"\x00\x01binary")
    ws.ws.ping().wait(10)
    assert ws.barrier() == []
    put(client)
    assert [m["status"] for m in ws.barrier()] == ["ready"]


def test_clients_keep_their_own_subscriptions(server, client, events):
    order = _ready(client, 25)
    head, tail = events(), events()
    head.next()
    tail.next()
    tail.subscribe("ready", limit=10, kind="tail")
    new = put(client)["id"]
    assert head.barrier() == []
    assert changes(tail.barrier()) == [("ready_removed", order[15]), ("ready", new)]


def test_a_bulk_enqueue_is_a_few_messages_per_client(server, client, events):
    clients = [events() for _ in range(3)]
    for ws in clients:
        ws.next()
    clients[1].subscribe("ready", limit=10, kind="tail")
    for _ in range(2):
        r = client.post("/jobs/bulk", json={"jobs": [_job() for _ in range(10_000)]})
        assert r.status_code == 201
    for ws in clients:
        # At most a window's worth each time (the tail: 10 out, 10 in).
        messages = ws.barrier()
        assert 1 <= len(messages) <= 50, [m["event"] for m in messages]
    # The tail window moved with each bulk; the head ones filled once.
    assert messages[-1]["server"]["total_ready"] == 10_000
    assert ws.subscribe("ready", kind="head")["server"]["total_ready"] == 20_000


def _text_frame(payload: bytes) -> bytes:
    """A masked client text frame (RFC 6455 5.2)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = bytes([0x81, 0x80 | size])
    elif size < 65536:
        header = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x81, 0x80 | 127]) + size.to_bytes(8, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _never_reading_client(port: int) -> socket.socket:
    """A WebSocket that reads its handshake's answer and nothing after."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_client_that_never_reads_holds_bounded_memory(server, client, events):
    """Asked for 2,000 windows of 1,000 jobs (~120 KB each) and never
    reading them, while 100,000 jobs are enqueued: the server keeps about a
    megabyte for it, and everyone else is served."""
    _ready(client, 10_000)
    marker = put(client)["id"]
    stuck = _never_reading_client(server.admin_port)
    before = _rss_mib(server.proc.pid)
    find = json.dumps(
        {
            "type": "find",
            "list": "ready",
            "anchor": {"kind": "start"},
            "direction": "forward",
            "limit": 1_000,
        }
    ).encode()
    stuck.sendall(_text_frame(find) * 2000)
    for _ in range(10):
        r = client.post("/jobs/bulk", json={"jobs": [_job() for _ in range(10_000)]})
        assert r.status_code == 201
    # Handled in order: once this delete is done, so are the finds.
    stuck.sendall(_text_frame(json.dumps({"type": "delete_job", "id": marker}).encode()))
    deadline = time.monotonic() + 120
    while client.get(f"/jobs/{marker}").status_code != 404:
        assert time.monotonic() < deadline, "the stuck client's messages were not handled"
        time.sleep(0.05)
    grown = _rss_mib(server.proc.pid) - before
    assert grown < 120, f"server grew by {grown:.0f} MiB"  # unbounded: ~240 MiB
    other = events()
    assert other.next()["server"]["total_ready"] == 110_000
    assert client.get("/health").status_code == 200
    stuck.close()
