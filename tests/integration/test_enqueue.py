"""Enqueue, bulk enqueue, names and priorities (API.md 2.4-2.7, 3, 7.2)."""

import time

import pytest

JOB = {"queue": "q", "type": "t", "payload": {"greet": "World"}}


def enqueue(client, **fields):
    return client.post("/jobs", json={**JOB, **fields})


def test_enqueue_returns_job_without_payload_in_field_order(client):
    r = enqueue(client, priority=500)
    assert r.status_code == 201
    body = r.json()
    assert list(body) == [
        "id", "type", "queue", "priority", "status", "ready_at", "attempts",
        "duplicate", "folded",
    ]
    assert body["status"] == "ready" and body["attempts"] == 0
    assert body["duplicate"] is False and body["folded"] is False
    assert abs(body["ready_at"] - time.time() * 1000) < 5000


def test_ids_are_scru128_and_time_ordered(client):
    ids = [enqueue(client).json()["id"] for _ in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    for job_id in ids:
        assert len(job_id) == 25 and job_id.isalnum() and job_id == job_id.lower()
        assert abs((int(job_id, 36) >> 80) - time.time() * 1000) < 5000


def test_future_ready_at_is_scheduled_and_past_is_kept(client):
    future = int(time.time() * 1000) + 60_000
    r = enqueue(client, ready_at=future).json()
    assert r["status"] == "scheduled" and r["ready_at"] == future
    r = enqueue(client, ready_at=1000).json()
    assert r["status"] == "ready" and r["ready_at"] == 1000


@pytest.mark.parametrize("missing", ["queue", "type", "payload"])
def test_missing_required_field_is_400(client, missing):
    body = {k: v for k, v in JOB.items() if k != missing}
    r = client.post("/jobs", json=body)
    assert r.status_code == 400
    assert f"missing field `{missing}`" in r.json()["error"]


@pytest.mark.parametrize("payload", [{}, [1, 2], "s", 42, True, None, 1.5, "é✓"])
def test_any_json_payload_round_trips(client, payload):
    job = enqueue(client, payload=payload).json()
    assert client.get(f"/jobs/{job['id']}").json()["payload"] == payload


def test_overrides_are_echoed_and_absent_otherwise(client):
    plain = enqueue(client).json()
    assert "retry_limit" not in plain and "backoff" not in plain
    job = enqueue(
        client,
        retry_limit=3,
        backoff={"exponent": 1.5, "base_ms": 10, "jitter_ms": 5},
        retention={"dead_ms": 100},
    ).json()
    assert job["retry_limit"] == 3
    assert job["backoff"] == {"exponent": 1.5, "base_ms": 10, "jitter_ms": 5}
    assert job["retention"] == {"dead_ms": 100}


def test_backoff_missing_a_field_is_400(client):
    r = enqueue(client, backoff={"exponent": 2, "base_ms": 1})
    assert r.status_code == 400 and "jitter_ms" in r.json()["error"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("priority", 65536), ("priority", -1), ("priority", "high"),
        ("priority", 1.5), ("priority", True), ("ready_at", -5),
        ("retry_limit", 2**32), ("queue", 7), ("payload_extra", None),
    ],
)
def test_wrong_types_and_ranges_are_400(client, field, value):
    if field == "payload_extra":
        r = client.post("/jobs", json={"queue": "q", "type": "t"})
    else:
        r = enqueue(client, **{field: value})
    assert r.status_code == 400
    assert r.json()["error"].startswith("invalid JSON:")


def test_priority_bounds_accepted_and_default(client):
    assert enqueue(client).json()["priority"] == 32768
    assert enqueue(client, priority=0).status_code == 201
    assert enqueue(client, priority=65535).status_code == 201


@pytest.mark.parametrize(
    "queue, message",
    [
        ("", "queue must not be empty"),
        ("a,b", "queue must not contain ','"),
        ("a\0b", "queue must not contain null bytes"),
        ("a*b", "queue must not contain '*' (reserved)"),
        ("x{y}", "queue must not contain '{' (reserved)"),
        ("back\\slash", "queue must not contain '\\' (reserved)"),
    ],
)
def test_queue_name_rules(client, queue, message):
    r = enqueue(client, queue=queue)
    assert r.status_code == 400
    assert r.json() == {"error": message}


def test_type_is_checked_before_queue(client):
    r = enqueue(client, type="", queue="a,b")
    assert r.json()["error"].startswith("type")


def test_utf8_names_accepted(client):
    for queue in ("billing.payments", "émails"):
        assert enqueue(client, queue=queue).json()["queue"] == queue


def test_unknown_fields_ignored(client):
    assert enqueue(client, colour="blue").status_code == 201


def test_unique_and_batch_are_pro_features(client):
    r = enqueue(client, unique_key="k")
    assert r.status_code == 403
    assert r.json() == {"error": "unique jobs requires a pro license"}
    batch = {"key": "k", "when": "true", "fold": "$new"}
    r = enqueue(client, batch=batch)
    assert r.json() == {"error": "batched jobs requires a pro license"}
    r = enqueue(client, unique_while="active")
    assert r.json() == {"error": "unique_while requires unique_key"}
    r = enqueue(client, unique_key="k", batch=batch)
    assert r.json() == {"error": "unique_key and batch cannot be combined"}


def test_bulk_enqueue_in_input_order(client):
    future = int(time.time() * 1000) + 60_000
    r = client.post(
        "/jobs/bulk", json={"jobs": [JOB, {**JOB, "ready_at": future}]}
    )
    assert r.status_code == 201
    jobs = r.json()["jobs"]
    assert [j["status"] for j in jobs] == ["ready", "scheduled"]
    assert all("payload" not in j and j["duplicate"] is False for j in jobs)


def test_bulk_is_atomic_on_validation_error(client):
    r = client.post(
        "/jobs/bulk", json={"jobs": [JOB, {**JOB, "queue": "a,b"}]}
    )
    assert r.status_code == 400
    assert r.json() == {"error": "jobs[1]: queue must not contain ','"}
    assert client.get("/queues").json() == {"queues": []}


def test_bulk_decode_error_names_the_job(client):
    r = client.post("/jobs/bulk", json={"jobs": [JOB, {"queue": "q", "type": "t"}]})
    assert r.status_code == 400
    assert "jobs[1]" in r.json()["error"] and "payload" in r.json()["error"]


def test_bulk_empty_and_missing_jobs(client):
    r = client.post("/jobs/bulk", json={"jobs": []})
    assert r.status_code == 201 and r.json() == {"jobs": []}
    assert client.post("/jobs/bulk", json={}).status_code == 400


def test_large_payload_round_trips(client):
    payload = {"blob": "x" * 2_000_000, "n": list(range(1000))}
    job = enqueue(client, payload=payload).json()
    assert client.get(f"/jobs/{job['id']}").json()["payload"] == payload
