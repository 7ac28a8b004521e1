"""Streaming take: order, filters, prefetch, heartbeats, disconnects (API.md 7.3.1)."""

import threading
import time

import httpx
import pytest

from .streams import TakeStream


def put(client, queue="q", **fields):
    r = client.post("/jobs", json={"queue": queue, "type": "t", "payload": {"n": 1}, **fields})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_ndjson_stream_delivers_ready_then_live_jobs(server, client):
    first = put(client)
    stream = TakeStream(server.port, "prefetch=0")
    assert stream.status == 200
    assert stream.headers["content-type"] == "application/x-ndjson"
    job = stream.read_job()
    assert job["id"] == first and job["status"] == "in_flight"
    assert "payload" in job and "dequeued_at" in job
    live = put(client)
    assert stream.read_job()["id"] == live
    stream.close()


def test_priority_then_fifo_order(server, client):
    low = [put(client, priority=900) for _ in range(3)]
    high = put(client, priority=500)
    stream = TakeStream(server.port, "prefetch=0")
    assert [j["id"] for j in stream.read_jobs(4)] == [high, *low]
    stream.close()


def test_queue_filter_selects_queues_in_global_order(server, client):
    a = put(client, "a", priority=5)
    put(client, "c", priority=1)
    b = put(client, "b", priority=2)
    stream = TakeStream(server.port, "queue=a,b,&prefetch=0")
    assert [j["id"] for j in stream.read_jobs(2)] == [b, a]
    stream.expect_no_job(0.3)
    stream.close()


def test_prefetch_default_one_then_next_after_ack(server, client):
    ids = [put(client), put(client)]
    stream = TakeStream(server.port)
    assert stream.read_job()["id"] == ids[0]
    stream.expect_no_job(0.3)
    assert client.post(f"/jobs/{ids[0]}/success").status_code == 204
    assert stream.read_job()["id"] == ids[1]
    stream.close()


def test_prefetch_n_and_unlimited(server, client):
    for _ in range(5):
        put(client)
    three = TakeStream(server.port, "prefetch=3")
    three.read_jobs(3)
    three.expect_no_job(0.3)
    three.close()
    everything = TakeStream(server.port, "prefetch=0")
    everything.read_jobs(5)
    everything.close()


def test_nack_and_delete_free_the_slot(server, client):
    ids = [put(client) for _ in range(3)]
    stream = TakeStream(server.port)
    assert stream.read_job()["id"] == ids[0]
    r = client.post(f"/jobs/{ids[0]}/failure", json={"message": "x"})
    assert r.status_code == 200
    assert stream.read_job()["id"] == ids[1]
    assert client.delete(f"/jobs/{ids[1]}").status_code == 204
    assert stream.read_job()["id"] == ids[2]
    assert client.post(f"/jobs/{ids[1]}/success").status_code == 404
    stream.close()


def test_global_in_flight_limit(make_server):
    server = make_server("--global-in-flight-limit", "2")
    with server.client() as client:
        ids = [put(client) for _ in range(3)]
        stream = TakeStream(server.port, "prefetch=3")
        got = [j["id"] for j in stream.read_jobs(2)]
        stream.expect_no_job(0.3)
        client.post(f"/jobs/{got[0]}/success")
        assert stream.read_job()["id"] == ids[2]
        stream.close()


def test_heartbeats_in_every_format(make_server):
    server = make_server("--heartbeat-interval", "200ms")
    ndjson = TakeStream(server.port)
    started = time.monotonic()
    assert ndjson.read_line(2) == b""
    assert time.monotonic() - started < 1.5
    ndjson.close()
    packed = TakeStream(server.port, accept="application/vnd.zizq.msgpack-stream")
    assert packed.headers["content-type"] == "application/vnd.zizq.msgpack-stream"
    assert packed.read_frame(2) is None
    packed.close()
    sse = TakeStream(server.port, accept="text/event-stream")
    assert sse.headers["content-type"] == "text/event-stream"
    assert b": heartbeat\n\n" in sse.read_raw(0.6)
    sse.close()


def test_msgpack_stream_frames(server, client):
    job_id = put(client)
    stream = TakeStream(server.port, accept="application/msgpack")
    assert stream.headers["content-type"] == "application/vnd.zizq.msgpack-stream"
    frame = stream.read_frame()
    assert frame["id"] == job_id and frame["payload"] == {"n": 1}
    stream.close()


def test_sse_frames(server, client):
    put(client)
    stream = TakeStream(server.port, accept="text/event-stream")
    assert stream.read_raw(0.5).startswith(b'data: {"id":')
    stream.close()


def test_take_406_and_bad_params(server):
    r = httpx.get(f"{server.url}/jobs/take", headers={"accept": "application/xml"})
    assert r.status_code == 406
    assert r.json()["supported"] == [
        "text/event-stream", "application/x-ndjson", "application/vnd.zizq.msgpack-stream",
    ]
    for query in ("prefetch=abc", "prefetch=-1", "colour=red"):
        r = httpx.get(f"{server.url}/jobs/take?{query}")
        assert r.status_code == 400
        assert r.text.startswith("Failed to deserialize query string")


def test_disconnect_requeues_whole_prefetch_keeping_position(server, client):
    ids = [put(client) for _ in range(5)]
    stream = TakeStream(server.port, "prefetch=5")
    stream.read_jobs(5)
    client.post(f"/jobs/{ids[0]}/success")
    stream.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        statuses = [client.get(f"/jobs/{i}").json()["status"] for i in ids[1:]]
        if statuses == ["ready"] * 4:
            break
        time.sleep(0.05)
    assert statuses == ["ready"] * 4
    assert client.get(f"/jobs/{ids[0]}").status_code == 404
    other = TakeStream(server.port, "prefetch=0")
    assert [j["id"] for j in other.read_jobs(4)] == ids[1:]
    assert all(j["attempts"] == 0 for j in [client.get(f"/jobs/{i}").json() for i in ids[1:]])
    other.close()


def test_competing_streams_never_share_a_job(server, client):
    ids = {put(client) for _ in range(40)}
    streams = [TakeStream(server.port, "prefetch=0") for _ in range(4)]
    seen = []
    for s in streams:
        try:
            while True:
                seen.append(s.read_job(0.5)["id"])
        except TimeoutError:
            pass
    assert sorted(seen) == sorted(ids)
    for s in streams:
        s.close()


def test_scheduled_job_delivered_when_due(server, client):
    due = int(time.time() * 1000) + 1000
    job_id = put(client, ready_at=due)
    stream = TakeStream(server.port)
    stream.expect_no_job(0.5)
    job = stream.read_job(3)
    assert job["id"] == job_id and job["ready_at"] == due
    assert time.time() * 1000 >= due
    stream.close()


def test_take_over_h2c_streams_and_requeues_on_close(server, client):
    job_id = put(client)
    with server.h2_client() as h2:
        with h2.stream("GET", "/jobs/take") as r:
            assert r.http_version == "HTTP/2"
            line = next(r.iter_lines())
            assert job_id in line
    deadline = time.monotonic() + 3
    while client.get(f"/jobs/{job_id}").json()["status"] != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_many_jobs_in_one_burst_arrive_intact(make_server):
    server = make_server("--global-in-flight-limit", "0")
    jobs = [{"queue": "burst", "type": "t", "payload": i} for i in range(3000)]
    with server.client() as client:
        client.post("/jobs/bulk", json={"jobs": jobs})
    stream = TakeStream(server.port, "prefetch=0")
    payloads = [j["payload"] for j in stream.read_jobs(3000, timeout=10)]
    assert payloads == list(range(3000))
    stream.close()
