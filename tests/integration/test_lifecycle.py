"""Ack, nack, retries, retention, reaper, scheduling (API.md 4-6, 7.3)."""

import time

import pytest

from .jobs import now_ms
from .streams import TakeStream


def take_one(server, client, **fields):
    """Enqueue one job and take it; returns the in-flight job."""
    body = {"queue": "q", "type": "t", "payload": {}, **fields}
    job_id = client.post("/jobs", json=body).json()["id"]
    stream = TakeStream(server.port, "prefetch=0")
    job = stream.read_job()
    assert job["id"] == job_id
    return job, stream


def test_ack_completes_and_deletes_by_default(server, client):
    job, stream = take_one(server, client)
    r = client.post(f"/jobs/{job['id']}/success")
    assert r.status_code == 204 and r.content == b""
    assert client.get(f"/jobs/{job['id']}").status_code == 404
    r = client.post(f"/jobs/{job['id']}/success")
    assert r.status_code == 404
    assert r.json() == {"error": "job not found in in-flight set"}
    stream.close()


def test_ack_unknown_or_ready_job_is_404(client):
    ready = client.post("/jobs", json={"queue": "q", "type": "t", "payload": 1}).json()
    assert client.post(f"/jobs/{ready['id']}/success").status_code == 404
    assert client.post("/jobs/nope/success").status_code == 404


def test_completed_retention_flag(make_server):
    server = make_server("--default-completed-job-retention", "1h")
    with server.client() as client:
        job, stream = take_one(server, client)
        client.post(f"/jobs/{job['id']}/success")
        got = client.get(f"/jobs/{job['id']}").json()
        assert got["status"] == "completed"
        assert got["purge_at"] == got["completed_at"] + 3_600_000
        stream.close()


def test_bulk_ack(server, client):
    for _ in range(2):
        client.post("/jobs", json={"queue": "q", "type": "t", "payload": 1})
    stream = TakeStream(server.port, "prefetch=0")
    a, b = (j["id"] for j in stream.read_jobs(2))
    assert client.post("/jobs/success", json={"ids": [a, a]}).status_code == 204
    r = client.post("/jobs/success", json={"ids": [b, "bogus", "bogus"]})
    assert r.status_code == 422 and r.json() == {"not_found": ["bogus"]}
    assert client.get(f"/jobs/{b}").status_code == 404
    r = client.post("/jobs/success", json={"ids": []})
    assert r.status_code == 400 and r.json() == {"error": "ids must not be empty"}
    assert client.post("/jobs/success", json={}).status_code == 400
    stream.close()


def test_nack_reschedules_with_error_record(server, client):
    job, stream = take_one(server, client)
    before = now_ms()
    r = client.post(
        f"/jobs/{job['id']}/failure",
        json={"message": "boom", "error_type": "E", "backtrace": "bt"},
    )
    assert r.status_code == 200
    failed = r.json()
    assert "payload" not in failed
    assert failed["status"] == "scheduled" and failed["attempts"] == 1
    assert failed["failed_at"] >= before
    delay = failed["ready_at"] - failed["failed_at"]
    assert 16_000 <= delay <= 46_000
    record = client.get(f"/jobs/{job['id']}/errors/1").json()
    assert record == {
        "attempt": 1, "message": "boom", "error_type": "E", "backtrace": "bt",
        "dequeued_at": job["dequeued_at"], "failed_at": failed["failed_at"],
    }
    r = client.get(f"/jobs/{job['id']}/errors/9")
    assert r.status_code == 404 and r.json() == {"error": "error record not found"}
    assert client.get(f"/jobs/{job['id']}/errors/x").status_code == 400
    stream.close()


def test_nack_validation(server, client):
    job, stream = take_one(server, client)
    assert client.post(f"/jobs/{job['id']}/failure", json={}).status_code == 400
    assert client.post("/jobs/nope/failure", json={"message": "m"}).status_code == 404
    r = client.post(f"/jobs/{job['id']}/failure", json={"message": "m", "kill": "yes"})
    assert r.status_code == 400
    stream.close()


def test_kill_and_retry_at_precedence(server, client):
    job, stream = take_one(server, client, retry_limit=0)
    t = now_ms() + 60_000
    r = client.post(f"/jobs/{job['id']}/failure", json={"message": "m", "retry_at": t})
    assert r.json()["status"] == "scheduled" and r.json()["ready_at"] == t
    stream.close()
    job, stream = take_one(server, client)
    r = client.post(
        f"/jobs/{job['id']}/failure",
        json={"message": "m", "retry_at": now_ms(), "kill": True},
    ).json()
    assert r["status"] == "dead"
    assert r["purge_at"] == r["failed_at"] + 604_800_000
    stream.close()


def test_retry_limit_and_deterministic_backoff(server, client):
    backoff = {"exponent": 2.0, "base_ms": 100, "jitter_ms": 0}
    body = {"queue": "r", "type": "t", "payload": 1, "retry_limit": 2, "backoff": backoff}
    job_id = client.post("/jobs", json=body).json()["id"]
    stream = TakeStream(server.port, "queue=r&prefetch=0")
    for attempt, delay in ((1, 1100), (2, 4100)):
        job = stream.read_job(6)
        assert job["id"] == job_id and job["attempts"] == attempt - 1
        r = client.post(f"/jobs/{job_id}/failure", json={"message": "m"}).json()
        assert r["status"] == "scheduled" and r["attempts"] == attempt
        assert r["ready_at"] - r["failed_at"] == delay
    stream.read_job(6)
    r = client.post(f"/jobs/{job_id}/failure", json={"message": "m"}).json()
    assert r["status"] == "dead" and r["attempts"] == 3
    errors = [client.get(f"/jobs/{job_id}/errors/{a}").status_code for a in (1, 2, 3)]
    assert errors == [200, 200, 200]
    stream.close()


def test_server_default_backoff_and_retry_limit(make_server):
    server = make_server(
        "--default-backoff-base", "1s", "--default-backoff-exponent", "1",
        "--default-backoff-jitter", "0", "--default-retry-limit", "1",
    )
    with server.client() as client:
        job, stream = take_one(server, client)
        r = client.post(f"/jobs/{job['id']}/failure", json={"message": "m"}).json()
        assert r["ready_at"] - r["failed_at"] == 2000
        retried = stream.read_job(5)
        assert retried["attempts"] == 1
        r = client.post(f"/jobs/{job['id']}/failure", json={"message": "m"}).json()
        assert r["status"] == "dead"
        stream.close()


def test_dead_retention_zero_deletes_job_and_errors(server, client):
    job, stream = take_one(server, client, retention={"dead_ms": 0})
    r = client.post(f"/jobs/{job['id']}/failure", json={"message": "m", "kill": True})
    assert r.json()["status"] == "dead" and "purge_at" not in r.json()
    assert client.get(f"/jobs/{job['id']}").status_code == 404
    assert client.get(f"/jobs/{job['id']}/errors/1").status_code == 404
    stream.close()


def test_dead_retention_flag_zero(make_server):
    server = make_server("--default-dead-job-retention", "0")
    with server.client() as client:
        job, stream = take_one(server, client)
        client.post(f"/jobs/{job['id']}/failure", json={"message": "m", "kill": True})
        assert client.get(f"/jobs/{job['id']}").status_code == 404
        stream.close()


def test_expired_job_invisible_then_reaped(make_server):
    server = make_server("--reaper-check-interval", "500ms")
    with server.client() as client:
        job, stream = take_one(server, client, queue="gone", retention={"completed_ms": 300})
        client.post(f"/jobs/{job['id']}/success")
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "completed"
        time.sleep(0.35)
        assert client.get(f"/jobs/{job['id']}").status_code == 404
        deadline = time.monotonic() + 3
        while "gone" in client.get("/queues").json()["queues"]:
            assert time.monotonic() < deadline, "reaper did not remove the job"
            time.sleep(0.1)
        stream.close()


def test_scheduler_promotes_on_time_and_wakes_early(server, client):
    late = client.post("/jobs", json={"queue": "s", "type": "t", "payload": 1,
                                      "ready_at": now_ms() + 10_000}).json()
    due = now_ms() + 800
    soon = client.post("/jobs", json={"queue": "s", "type": "t", "payload": 1,
                                      "ready_at": due}).json()
    assert soon["status"] == "scheduled"
    deadline = time.monotonic() + 3
    while client.get(f"/jobs/{soon['id']}").json()["status"] != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    got = client.get(f"/jobs/{soon['id']}").json()
    assert got["ready_at"] == due and now_ms() >= due
    assert client.get(f"/jobs/{late['id']}").json()["status"] == "scheduled"


def test_ack_from_any_client(server, client):
    job, stream = take_one(server, client)
    with server.h2_client() as other:
        assert other.post(f"/jobs/{job['id']}/success").status_code == 204
    stream.close()


@pytest.mark.parametrize("body", [b"x" * 100, b'{"a":1}'])
def test_ack_ignores_any_body(server, client, body):
    job, stream = take_one(server, client)
    assert client.post(f"/jobs/{job['id']}/success", content=body).status_code == 204
    stream.close()
