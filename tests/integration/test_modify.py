"""Modifying jobs: PATCH, DELETE, reset, and what workers see (API.md 7.5)."""

import threading
import time

import httpx
import msgpack

from .jobs import HOUR, PARAMS_ERROR, now_ms, put
from .streams import TakeStream

MSGPACK = "application/msgpack"


def put_many(client, count, queue="q", **fields) -> list:
    jobs = [{"queue": queue, "type": "t", "payload": i, **fields} for i in range(count)]
    r = client.post("/jobs/bulk", json={"jobs": jobs})
    assert r.status_code == 201, r.text
    return [job["id"] for job in r.json()["jobs"]]


def get(client, job_id) -> dict:
    r = client.get(f"/jobs/{job_id}")
    assert r.status_code == 200, r.text
    return r.json()


def without_payload(job: dict) -> dict:
    return {k: v for k, v in job.items() if k != "payload"}


def patch(client, job_id, body) -> dict:
    r = client.patch(f"/jobs/{job_id}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def listed_ids(client, query="") -> list:
    r = client.get("/jobs?limit=2000" + ("&" + query if query else ""))
    assert r.status_code == 200, r.text
    return [job["id"] for job in r.json()["jobs"]]


def count(client, query="") -> int:
    r = client.get("/jobs/count" + ("?" + query if query else ""))
    assert r.status_code == 200, r.text
    return r.json()["count"]


def take(server, queue, prefetch=0):
    stream = TakeStream(server.port, f"queue={queue}&prefetch={prefetch}")
    return stream.read_job(), stream


def assert_error(response, status, message=None, prefix=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if message is not None:
        assert error == message
    if prefix is not None:
        assert error.startswith(prefix), error


def wait_for(predicate, timeout=3.0, message="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(0.02)


# --- PATCH /jobs/{id}: fields ----------------------------------------------------------


def test_patch_queue_and_priority(client):
    """MOD-01."""
    job = put(client, "example", payload={"k": 1}, priority=500)
    r = client.patch(f"/jobs/{job['id']}", json={"queue": "other", "priority": 100})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    patched = r.json()
    assert "payload" not in patched
    assert patched["queue"] == "other" and patched["priority"] == 100
    assert patched["status"] == "ready" and patched["ready_at"] == job["ready_at"]
    stored = get(client, job["id"])
    assert stored["payload"] == {"k": 1}
    assert without_payload(stored) == patched
    assert list(patched) == ["id", "type", "queue", "priority", "status", "ready_at",
                             "attempts"]
    assert client.get("/queues").json()["queues"] == ["other"]
    assert listed_ids(client, "queue=other&priority=100") == [job["id"]]


def test_patch_priority_bounds(client):
    job = put(client)
    assert patch(client, job["id"], {"priority": 0})["priority"] == 0
    assert patch(client, job["id"], {"priority": 65535})["priority"] == 65535


def test_patch_future_ready_at_schedules_a_ready_job(client):
    """MOD-02."""
    job = put(client)
    at = now_ms() + HOUR
    patched = patch(client, job["id"], {"ready_at": at})
    assert patched["status"] == "scheduled" and patched["ready_at"] == at
    assert listed_ids(client, "status=scheduled") == [job["id"]]
    assert count(client, "status=ready") == 0


def test_patch_null_ready_at_makes_a_scheduled_job_ready_now(client):
    """MOD-03."""
    job = put(client, ready_at=now_ms() + HOUR)
    assert job["status"] == "scheduled"
    before = now_ms()
    patched = patch(client, job["id"], {"ready_at": None})
    assert patched["status"] == "ready"
    assert before - 5 <= patched["ready_at"] <= now_ms() + 5
    assert get(client, job["id"])["status"] == "ready"


def test_patch_null_ready_at_leaves_a_ready_job_alone(client):
    past = now_ms() - 60_000
    job = put(client, ready_at=past)
    patched = patch(client, job["id"], {"ready_at": None})
    assert patched["status"] == "ready" and patched["ready_at"] == past


def test_patch_ready_at_values_within_a_status(client):
    ready = put(client)
    past = now_ms() - 5_000
    patched = patch(client, ready["id"], {"ready_at": past})
    assert patched["status"] == "ready" and patched["ready_at"] == past
    scheduled = put(client, ready_at=now_ms() + HOUR)
    later = now_ms() + 2 * HOUR
    patched = patch(client, scheduled["id"], {"ready_at": later})
    assert patched["status"] == "scheduled" and patched["ready_at"] == later
    patched = patch(client, scheduled["id"], {"ready_at": 0})
    assert patched["status"] == "ready" and patched["ready_at"] == 0


def test_patch_past_ready_at_makes_a_scheduled_job_ready(client):
    job = put(client, ready_at=now_ms() + HOUR)
    past = now_ms() - 1_000
    patched = patch(client, job["id"], {"ready_at": past})
    assert patched["status"] == "ready" and patched["ready_at"] == past


def test_patch_retry_limit_set_and_clear(client):
    """MOD-04."""
    job = put(client, retry_limit=3)
    assert get(client, job["id"])["retry_limit"] == 3
    assert patch(client, job["id"], {"retry_limit": 7})["retry_limit"] == 7
    cleared = patch(client, job["id"], {"retry_limit": None})
    assert "retry_limit" not in cleared
    assert "retry_limit" not in get(client, job["id"])
    assert patch(client, job["id"], {"retry_limit": 0})["retry_limit"] == 0


def test_patch_backoff_set_and_clear(client):
    job = put(client)
    backoff = {"exponent": 2, "base_ms": 100, "jitter_ms": 0}
    patched = patch(client, job["id"], {"backoff": backoff})
    assert list(patched["backoff"]) == ["exponent", "base_ms", "jitter_ms"]
    assert patched["backoff"]["exponent"] == 2.0
    assert patched["backoff"]["base_ms"] == 100 and patched["backoff"]["jitter_ms"] == 0
    patched = patch(client, job["id"], {"backoff": {"exponent": 1.5, "base_ms": 1,
                                                     "jitter_ms": 2}})
    assert patched["backoff"] == {"exponent": 1.5, "base_ms": 1, "jitter_ms": 2}
    assert "backoff" not in patch(client, job["id"], {"backoff": None})


def test_patch_retention_merge(client):
    """MOD-05 and the other merge-patch cases."""
    job = put(client, retention={"completed_ms": 1, "dead_ms": 2})
    job_id = job["id"]
    assert patch(client, job_id, {"retention": {"dead_ms": None}})["retention"] == {
        "completed_ms": 1}
    assert patch(client, job_id, {"retention": {"dead_ms": 5}})["retention"] == {
        "completed_ms": 1, "dead_ms": 5}
    assert patch(client, job_id, {"retention": {}})["retention"] == {
        "completed_ms": 1, "dead_ms": 5}
    assert patch(client, job_id, {"retention": {"completed_ms": 9}})["retention"] == {
        "completed_ms": 9, "dead_ms": 5}
    cleared = patch(client, job_id, {"retention": {"completed_ms": None, "dead_ms": None}})
    assert "retention" not in cleared
    assert patch(client, job_id, {"retention": {"dead_ms": 0}})["retention"] == {"dead_ms": 0}
    assert "retention" not in patch(client, job_id, {"retention": {"dead_ms": None}})
    assert patch(client, job_id, {"retention": {"completed_ms": 3}})["retention"] == {
        "completed_ms": 3}
    assert "retention" not in patch(client, job_id, {"retention": None})
    assert "retention" not in get(client, job_id)


def test_patch_retention_of_a_job_without_override(client):
    job = put(client)
    assert "retention" not in patch(client, job["id"], {"retention": {}})
    assert "retention" not in patch(client, job["id"], {"retention": {"dead_ms": None}})
    assert patch(client, job["id"], {"retention": {"completed_ms": 7}})["retention"] == {
        "completed_ms": 7}


def test_patch_empty_object_is_a_noop(client):
    """MOD-10."""
    job = put(client, payload=[1], priority=7, retry_limit=2,
              backoff={"exponent": 1.0, "base_ms": 1, "jitter_ms": 1},
              retention={"dead_ms": 10}, ready_at=now_ms() + HOUR)
    before = without_payload(get(client, job["id"]))
    r = client.patch(f"/jobs/{job['id']}", json={})
    assert r.status_code == 200 and r.json() == before
    assert without_payload(get(client, job["id"])) == before


def test_patch_ignores_type_payload_and_unknown_keys(client):
    job = put(client, type="orig", payload={"a": 1})
    before = get(client, job["id"])
    patched = patch(client, job["id"], {"type": "new", "payload": 5, "id": "x", "bogus": 1})
    assert patched == without_payload(before)
    assert get(client, job["id"]) == before


def test_patch_all_fields_at_once(client):
    job = put(client, "a")
    at = now_ms() + HOUR
    body = {"queue": "b", "priority": 3, "ready_at": at, "retry_limit": 4,
            "backoff": {"exponent": 3.75, "base_ms": 10, "jitter_ms": 20},
            "retention": {"completed_ms": 11, "dead_ms": 12}}
    patched = patch(client, job["id"], body)
    assert patched == {
        "id": job["id"], "type": "t", "queue": "b", "priority": 3, "status": "scheduled",
        "ready_at": at, "attempts": 0, "retry_limit": 4,
        "backoff": {"exponent": 3.75, "base_ms": 10, "jitter_ms": 20},
        "retention": {"completed_ms": 11, "dead_ms": 12},
    }


def test_patch_null_queue_or_priority_is_422(client):
    """MOD-06."""
    job = put(client)
    assert_error(client.patch(f"/jobs/{job['id']}", json={"queue": None}), 422,
                 "queue cannot be null")
    assert_error(client.patch(f"/jobs/{job['id']}", json={"priority": None}), 422,
                 "priority cannot be null")
    assert_error(client.patch(f"/jobs/{job['id']}", json={"priority": 1, "queue": None}),
                 422, "queue cannot be null")
    assert get(client, job["id"])["priority"] == 32768


def test_patch_invalid_queue_name_is_422(client):
    """MOD-07 with every name rule (API.md 2.4)."""
    job = put(client)
    cases = [
        ("a,b", "queue must not contain ','"),
        ("", "queue must not be empty"),
        ("a\0b", "queue must not contain null bytes"),
        ("a*b", "queue must not contain '*' (reserved)"),
        ("x?[", "queue must not contain '?' (reserved)"),
        ("{q}", "queue must not contain '{' (reserved)"),
        ("a\\b", "queue must not contain '\\' (reserved)"),
    ]
    for name, message in cases:
        r = client.patch(f"/jobs/{job['id']}", json={"queue": name})
        assert_error(r, 422, message)
    assert get(client, job["id"])["queue"] == "q"


def test_patch_terminal_job_is_422(server, client):
    """MOD-08."""
    done = put(client, "t", retention={"completed_ms": HOUR})
    taken, stream = take(server, "t")
    client.post(f"/jobs/{done['id']}/success")
    dead = put(client, "t")
    assert stream.read_job()["id"] == dead["id"]
    client.post(f"/jobs/{dead['id']}/failure", json={"message": "m", "kill": True})
    for job_id, status in ((done["id"], "completed"), (dead["id"], "dead")):
        for body in ({"priority": 1}, {}, {"ready_at": None}):
            r = client.patch(f"/jobs/{job_id}", json=body)
            assert_error(r, 422, f"cannot patch job {job_id} in {status} status")
        assert get(client, job_id)["status"] == status
    stream.close()


def test_patch_unknown_job_is_404(client):
    """MOD-09."""
    for job_id in ("0" * 25, "nope"):
        r = client.patch(f"/jobs/{job_id}", json={"priority": 1})
        assert_error(r, 404, "job not found")
    job = put(client)
    client.delete(f"/jobs/{job['id']}")
    assert_error(client.patch(f"/jobs/{job['id']}", json={}), 404, "job not found")


def test_patch_bad_body_is_400(client):
    job = put(client)
    url = f"/jobs/{job['id']}"
    raw = [b"", b"not json", b"[]", b'"x"', b"null", b"{", b"{\"priority\":1,}"]
    for content in raw:
        r = client.patch(url, content=content, headers={"content-type": "application/json"})
        assert_error(r, 400, prefix="invalid JSON: ")
    bodies = [
        {"priority": "high"}, {"priority": 65536}, {"priority": -1}, {"priority": 1.5},
        {"priority": True}, {"ready_at": -1}, {"ready_at": "soon"},
        {"ready_at": 18446744073709551616}, {"retry_limit": -1},
        {"retry_limit": 4294967296}, {"retry_limit": "3"}, {"queue": 5}, {"queue": ["a"]},
        {"backoff": {"exponent": 2}}, {"backoff": {"base_ms": 1, "jitter_ms": 1}},
        {"backoff": "fast"}, {"backoff": {"exponent": "x", "base_ms": 1, "jitter_ms": 1}},
        {"backoff": {"exponent": 1, "base_ms": -1, "jitter_ms": 1}},
        {"retention": 5}, {"retention": {"completed_ms": -1}},
        {"retention": {"dead_ms": "x"}},
    ]
    for body in bodies:
        r = client.patch(url, json=body)
        assert_error(r, 400, prefix="invalid JSON: ")
    assert without_payload(get(client, job["id"])) == {
        k: v for k, v in job.items() if k not in ("duplicate", "folded")
    }


def test_patch_body_decoded_before_lookup(client):
    r = client.patch("/jobs/nope", content=b"not json")
    assert_error(r, 400, prefix="invalid JSON: ")


def test_patch_content_negotiation(client):
    job = put(client)
    r = client.patch(f"/jobs/{job['id']}", content=b"{}",
                     headers={"content-type": "application/xml"})
    assert r.status_code == 415 and r.json()["error"] == "unsupported media type"
    r = client.patch(f"/jobs/{job['id']}", json={}, headers={"accept": "text/html"})
    assert r.status_code == 406 and r.json()["error"] == "not acceptable"
    r = client.patch(f"/jobs/{job['id']}", content=b"{\"priority\":5}")
    assert r.status_code == 200 and r.json()["priority"] == 5


def test_patch_msgpack_body_and_response(client):
    job = put(client, payload={"a": 1})
    at = now_ms() + HOUR
    body = msgpack.packb({"queue": "mp", "priority": 9, "ready_at": at,
                          "retention": {"dead_ms": None}})
    r = client.patch(f"/jobs/{job['id']}", content=body,
                     headers={"content-type": MSGPACK, "accept": MSGPACK})
    assert r.status_code == 200
    assert r.headers["content-type"] == MSGPACK
    patched = msgpack.unpackb(r.content)
    assert patched["queue"] == "mp" and patched["priority"] == 9
    assert patched["status"] == "scheduled" and patched["ready_at"] == at
    assert "payload" not in patched
    r = client.patch(f"/jobs/{job['id']}", content=msgpack.packb({"queue": None}),
                     headers={"content-type": MSGPACK, "accept": MSGPACK})
    assert r.status_code == 422
    assert msgpack.unpackb(r.content) == {"error": "queue cannot be null"}
    r = client.patch(f"/jobs/{job['id']}", content=b"\xc1",
                     headers={"content-type": MSGPACK})
    assert_error(r, 400, prefix="invalid MessagePack: ")


def test_patch_in_flight_job_stays_in_flight(server, client):
    """MOD-15."""
    job = put(client, "f")
    taken, stream = take(server, "f")
    at = now_ms() + HOUR
    patched = patch(client, job["id"], {"priority": 5, "queue": "g", "ready_at": at,
                                        "retry_limit": 1})
    assert patched["status"] == "in_flight"
    assert patched["priority"] == 5 and patched["queue"] == "g" and patched["ready_at"] == at
    assert patched["dequeued_at"] == taken["dequeued_at"]
    assert patch(client, job["id"], {"ready_at": None})["status"] == "in_flight"
    assert get(client, job["id"])["status"] == "in_flight"
    assert listed_ids(client, "status=in_flight&queue=g") == [job["id"]]
    assert client.post(f"/jobs/{job['id']}/success").status_code == 204
    assert client.get(f"/jobs/{job['id']}").status_code == 404
    stream.close()


def test_patched_overrides_apply_to_later_transitions(server, client):
    """retry_limit, backoff and retention patched onto a job are used afterwards."""
    job_id = put(client, "o")["id"]
    patch(client, job_id, {"backoff": {"exponent": 1.0, "base_ms": 0, "jitter_ms": 0},
                           "retention": {"completed_ms": HOUR}})
    taken, stream = take(server, "o")
    failed = client.post(f"/jobs/{job_id}/failure", json={"message": "m"}).json()
    assert failed["status"] == "scheduled"
    assert failed["ready_at"] - failed["failed_at"] == 1000
    patch(client, job_id, {"retry_limit": 1, "ready_at": None})
    assert stream.read_job()["id"] == job_id
    failed = client.post(f"/jobs/{job_id}/failure", json={"message": "m"}).json()
    assert failed["status"] == "dead" and failed["attempts"] == 2
    other = put(client, "o", retention={"completed_ms": 0})["id"]
    patch(client, other, {"retention": {"completed_ms": HOUR}})
    assert stream.read_job()["id"] == other
    client.post(f"/jobs/{other}/success")
    done = get(client, other)
    assert done["status"] == "completed"
    assert done["purge_at"] == done["completed_at"] + HOUR
    stream.close()


def test_patch_in_flight_queue_then_disconnect_requeues_into_new_queue(server, client):
    job = put(client, "from")
    taken, stream = take(server, "from")
    patch(client, job["id"], {"queue": "to", "priority": 3})
    stream.close()
    wait_for(lambda: get(client, job["id"])["status"] == "ready", message="requeue")
    assert listed_ids(client, "queue=to&status=ready") == [job["id"]]
    again, other = take(server, "to")
    assert again["id"] == job["id"] and again["queue"] == "to" and again["priority"] == 3
    other.close()


# --- PATCH /jobs (bulk) ---------------------------------------------------------------


def test_bulk_patch_moves_matching_jobs(client):
    """MOD-11."""
    ids = put_many(client, 3, "example")
    other = put(client, "elsewhere")["id"]
    r = client.patch("/jobs?queue=example", json={"queue": "other"})
    assert r.status_code == 200 and r.json() == {"patched": 3}
    assert listed_ids(client, "queue=other") == ids
    assert count(client, "queue=example") == 0
    assert get(client, other)["queue"] == "elsewhere"


def test_bulk_patch_with_each_filter(server, client):
    low = put(client, "a", "x", {"n": 1}, priority=10)["id"]
    high = put(client, "a", "y", {"n": 2}, priority=20)["id"]
    later = put(client, "b", "x", {"n": 3}, ready_at=now_ms() + HOUR)["id"]
    flaky = put(client, "c", "y", {"n": 4})["id"]
    taken, stream = take(server, "c")
    client.post(f"/jobs/{flaky}/failure", json={"message": "m", "retry_at": now_ms() + HOUR})
    cases = [
        ("type=x", [low, later]),
        ("status=scheduled", [later, flaky]),
        ("status=ready,", [low, high]),
        ("priority=..15", [low]),
        ("priority=15..", [high, later, flaky]),
        (f"ready_at={now_ms() + 1000}..", [later, flaky]),
        ("attempts=1", [flaky]),
        (f"id={high},{flaky}", [high, flaky]),
        ("filter=.n%20%3E%3D%203", [later, flaky]),
        ("queue=a&type=y", [high]),
        ("queue=zzz", []),
        (f"id={'0' * 25}", []),
    ]
    for i, (query, expected) in enumerate(cases):
        r = client.patch(f"/jobs?{query}", json={"retry_limit": i})
        assert r.status_code == 200, (query, r.text)
        assert r.json() == {"patched": len(expected)}, query
        touched = sorted(j for j in (low, high, later, flaky)
                         if get(client, j).get("retry_limit") == i)
        assert touched == sorted(expected), query
    stream.close()


def test_bulk_patch_without_filters_skips_terminal_jobs(server, client):
    """MOD-13: no filters = every non-terminal job; terminal ones untouched, uncounted."""
    ready = put(client, "q")["id"]
    scheduled = put(client, "q", ready_at=now_ms() + HOUR)["id"]
    done = put(client, "q", retention={"completed_ms": HOUR})["id"]
    taken, stream = take(server, "q", prefetch=1)
    assert taken["id"] == ready
    client.post(f"/jobs/{ready}/success")
    assert stream.read_job()["id"] == done
    client.post(f"/jobs/{done}/success")
    dead = put(client, "q", retention={"dead_ms": HOUR})["id"]
    assert stream.read_job()["id"] == dead
    client.post(f"/jobs/{dead}/failure", json={"message": "m", "kill": True})
    in_flight = put(client, "q")["id"]
    assert stream.read_job()["id"] == in_flight
    fresh = put(client, "q", ready_at=now_ms() - 10)["id"]

    r = client.patch("/jobs", json={"priority": 7})
    assert r.status_code == 200 and r.json() == {"patched": 3}
    assert get(client, scheduled)["priority"] == 7
    assert get(client, in_flight)["priority"] == 7
    assert get(client, in_flight)["status"] == "in_flight"
    assert get(client, fresh)["priority"] == 7
    assert get(client, done)["priority"] == 32768 and get(client, done)["status"] == "completed"
    assert get(client, dead)["priority"] == 32768 and get(client, dead)["status"] == "dead"

    r = client.patch("/jobs?queue=q", json={"priority": 8})
    assert r.json() == {"patched": 3}
    r = client.patch(f"/jobs?id={done},{dead}", json={"priority": 9})
    assert r.json() == {"patched": 0}
    r = client.patch(f"/jobs?id={done},{scheduled}", json={"priority": 9})
    assert r.json() == {"patched": 1}
    assert get(client, done)["priority"] == 32768
    stream.close()


def test_bulk_patch_counts_jobs_even_when_unchanged(client):
    put_many(client, 4, priority=5)
    assert client.patch("/jobs", json={"priority": 5}).json() == {"patched": 4}
    assert client.patch("/jobs", json={}).json() == {"patched": 4}
    assert client.patch("/jobs?queue=nothing", json={"priority": 1}).json() == {"patched": 0}


def test_bulk_patch_ready_at_moves_between_ready_and_scheduled(client):
    ids = put_many(client, 3, "m")
    at = now_ms() + HOUR
    assert client.patch("/jobs?queue=m", json={"ready_at": at}).json() == {"patched": 3}
    assert listed_ids(client, "status=scheduled") == ids
    assert all(get(client, i)["ready_at"] == at for i in ids)
    r = client.patch(f"/jobs?id={ids[0]},{ids[2]}", json={"ready_at": None})
    assert r.json() == {"patched": 2}
    assert listed_ids(client, "status=ready") == [ids[0], ids[2]]
    assert get(client, ids[1])["status"] == "scheduled"


def test_bulk_patch_terminal_status_in_query_is_422(client):
    """MOD-12."""
    put(client)
    cases = [
        ("status=dead", "cannot patch jobs in Dead status"),
        ("status=completed", "cannot patch jobs in Completed status"),
        ("status=ready,dead", "cannot patch jobs in Dead status"),
        ("status=completed,ready,", "cannot patch jobs in Completed status"),
        ("status=dead&queue=q", "cannot patch jobs in Dead status"),
    ]
    for query, message in cases:
        assert_error(client.patch(f"/jobs?{query}", json={"priority": 1}), 422, message)
    assert get(client, listed_ids(client)[0])["priority"] == 32768
    r = client.patch("/jobs?status=ready,scheduled,in_flight", json={"priority": 1})
    assert r.json() == {"patched": 1}


def test_bulk_patch_validation_order(client):
    """API.md 7.5.3: Accept, body, query, terminal status, ids, body rules, filter."""
    job_id = put(client)["id"]
    bad_query = "foo=1"
    r = client.patch(f"/jobs?{bad_query}", content=b"not json",
                     headers={"accept": "application/xml"})
    assert r.status_code == 406
    r = client.patch(f"/jobs?{bad_query}", content=b"{}",
                     headers={"content-type": "application/xml"})
    assert r.status_code == 415
    assert_error(client.patch(f"/jobs?{bad_query}", content=b"not json"), 400,
                 prefix="invalid JSON: ")
    assert_error(client.patch("/jobs?status=dead", json={"priority": "x"}), 400,
                 prefix="invalid JSON: ")
    assert_error(client.patch("/jobs?id=xyz", content=b""), 400, prefix="invalid JSON: ")
    assert_error(client.patch("/jobs?status=dead&foo=1", json={}), 400, prefix=PARAMS_ERROR)
    assert_error(client.patch("/jobs?status=dead&id=xyz", json={}), 422,
                 "cannot patch jobs in Dead status")
    assert_error(client.patch("/jobs?status=dead", json={"queue": None}), 422,
                 "cannot patch jobs in Dead status")
    assert_error(client.patch("/jobs?id=xyz", json={"queue": None}), 400,
                 'invalid job ID: "xyz"')
    assert_error(client.patch("/jobs?filter=.[*]", json={"queue": None}), 422,
                 "queue cannot be null")
    assert_error(client.patch("/jobs?filter=.[*]", json={"priority": None}), 422,
                 "priority cannot be null")
    assert_error(client.patch("/jobs?filter=.[*]", json={"queue": "a,b"}), 422,
                 "queue must not contain ','")
    assert_error(client.patch("/jobs?filter=.[*]", json={"priority": 1}), 400,
                 prefix="invalid filter: ")
    assert_error(client.patch("/jobs?filter=", json={}), 400, prefix="invalid filter: ")
    assert_error(client.patch("/jobs?limit=5", json={}), 400, prefix=PARAMS_ERROR)
    assert_error(client.patch("/jobs?queue=a&queue=b", json={}), 400, prefix=PARAMS_ERROR)
    assert_error(client.patch("/jobs?priority=9..1", json={}), 400,
                 PARAMS_ERROR + "range lower bound exceeds upper bound")
    assert get(client, job_id)["priority"] == 32768


def test_bulk_patch_msgpack(client):
    ids = put_many(client, 2, "mp")
    r = client.patch("/jobs?queue=mp", content=msgpack.packb({"priority": 4}),
                     headers={"content-type": MSGPACK, "accept": MSGPACK})
    assert r.status_code == 200 and r.headers["content-type"] == MSGPACK
    assert msgpack.unpackb(r.content) == {"patched": 2}
    assert [get(client, i)["priority"] for i in ids] == [4, 4]


# --- DELETE -----------------------------------------------------------------------


def test_delete_job(server, client):
    """DEL-01: 204 without body or content-type; the job and its errors are gone."""
    job_id = put(client, "d")["id"]
    taken, stream = take(server, "d")
    client.post(f"/jobs/{job_id}/failure", json={"message": "m", "retry_at": now_ms() + HOUR})
    r = client.delete(f"/jobs/{job_id}")
    assert r.status_code == 204 and r.content == b""
    assert "content-type" not in r.headers
    assert_error(client.get(f"/jobs/{job_id}"), 404, "job not found")
    assert client.get(f"/jobs/{job_id}/errors/1").status_code == 404
    assert client.get("/queues").json() == {"queues": []}
    stream.close()


def test_delete_job_in_every_status(server, client):
    scheduled = put(client, "d", ready_at=now_ms() + HOUR)["id"]
    ready = put(client, "r")["id"]
    done = put(client, "d", retention={"completed_ms": HOUR})["id"]
    taken, stream = take(server, "d")
    client.post(f"/jobs/{done}/success")
    dead = put(client, "d")["id"]
    assert stream.read_job()["id"] == dead
    client.post(f"/jobs/{dead}/failure", json={"message": "m", "kill": True})
    for job_id in (scheduled, ready, done, dead):
        assert client.delete(f"/jobs/{job_id}").status_code == 204
        assert client.get(f"/jobs/{job_id}").status_code == 404
    assert count(client) == 0
    stream.close()


def test_delete_unknown_job_is_404(client):
    """DEL-02."""
    for job_id in ("0" * 25, "nope"):
        assert_error(client.delete(f"/jobs/{job_id}"), 404, "job not found")
    job_id = put(client)["id"]
    assert client.delete(f"/jobs/{job_id}").status_code == 204
    assert_error(client.delete(f"/jobs/{job_id}"), 404, "job not found")


def test_delete_in_flight_job(server, client):
    """DEL-03: 204; the worker's later ack or nack is 404."""
    ids = put_many(client, 2, "f")
    stream = TakeStream(server.port, "queue=f&prefetch=0")
    got = [j["id"] for j in stream.read_jobs(2)]
    assert got == ids
    for job_id in ids:
        assert client.delete(f"/jobs/{job_id}").status_code == 204
    assert_error(client.post(f"/jobs/{ids[0]}/success"), 404, "job not found in in-flight set")
    r = client.post(f"/jobs/{ids[1]}/failure", json={"message": "m"})
    assert_error(r, 404, "job not found in in-flight set")
    assert count(client) == 0
    stream.close()


def test_delete_204_over_http2(server, client):
    job_id = put(client)["id"]
    with server.h2_client() as h2:
        r = h2.delete(f"/jobs/{job_id}")
        assert r.http_version == "HTTP/2"
        assert r.status_code == 204 and r.content == b""
        r = h2.post("/reset")
        assert r.status_code == 204 and r.content == b""


def test_bulk_delete_filtered(client):
    """DEL-04."""
    ready = put_many(client, 2, "example")
    scheduled = put_many(client, 3, "example", ready_at=now_ms() + HOUR)
    other = put(client, "other", ready_at=now_ms() + HOUR)["id"]
    r = client.delete("/jobs?queue=example&status=scheduled")
    assert r.status_code == 200 and r.json() == {"deleted": 3}
    assert listed_ids(client) == ready + [other]
    for job_id in scheduled:
        assert client.get(f"/jobs/{job_id}").status_code == 404


def test_bulk_delete_everything(server, client):
    """DEL-05: no parameters deletes every job, in every status."""
    put_many(client, 3, "a")
    put(client, "b", ready_at=now_ms() + HOUR)
    busy = put(client, "c")["id"]
    taken, stream = take(server, "c")
    r = client.delete("/jobs")
    assert r.status_code == 200 and r.json() == {"deleted": 5}
    assert count(client) == 0 and client.get("/queues").json() == {"queues": []}
    assert client.post(f"/jobs/{busy}/success").status_code == 404
    assert client.delete("/jobs").json() == {"deleted": 0}
    stream.close()


def test_bulk_delete_ids_and_filter(client):
    """DEL-06: only the listed ids that also match the other filters."""
    a = put(client, payload={"keep": False})["id"]
    b = put(client, payload={"keep": True})["id"]
    c = put(client, payload={"keep": False})["id"]
    r = client.delete("/jobs", params={"filter": ".keep == false", "id": f"{a},{b}"})
    assert r.json() == {"deleted": 1}
    assert listed_ids(client) == [b, c]
    r = client.delete("/jobs", params={"id": f"{b},{c}", "queue": "elsewhere"})
    assert r.json() == {"deleted": 0}
    r = client.delete("/jobs", params={"id": f"{c},{'0' * 25}", "status": "ready"})
    assert r.json() == {"deleted": 1}
    assert listed_ids(client) == [b]


def test_bulk_delete_with_each_filter(server, client):
    jobs = {
        "low": put(client, "a", "x", {"n": 1}, priority=10)["id"],
        "high": put(client, "a", "y", {"n": 2}, priority=20)["id"],
        "later": put(client, "b", "x", {"n": 3}, ready_at=now_ms() + HOUR)["id"],
        "flaky": put(client, "c", "y", {"n": 4})["id"],
    }
    taken, stream = take(server, "c")
    client.post(f"/jobs/{jobs['flaky']}/failure",
                json={"message": "m", "retry_at": now_ms() + HOUR})
    steps = [
        ("attempts=1..", ["flaky"]),
        ("filter=.n%20%3D%3D%203", ["later"]),
        ("priority=15..20&type=y", ["high"]),
        (f"ready_at=..{now_ms()}", ["low"]),
    ]
    remaining = dict(jobs)
    for query, names in steps:
        r = client.delete(f"/jobs?{query}")
        assert r.status_code == 200 and r.json() == {"deleted": len(names)}, query
        for name in names:
            del remaining[name]
        assert listed_ids(client) == sorted(remaining.values()), query
    stream.close()


def test_bulk_delete_validation(client):
    """DEL-07."""
    job_id = put(client)["id"]
    assert_error(client.delete("/jobs?id=xyz"), 400, 'invalid job ID: "xyz"')
    assert_error(client.delete(f"/jobs?id={job_id},bad"), 400, 'invalid job ID: "bad"')
    assert_error(client.delete("/jobs?filter=.[*]"), 400, prefix="invalid filter: ")
    assert_error(client.delete("/jobs?filter="), 400, prefix="invalid filter: ")
    for query in ("foo=1", "limit=5", "order=asc", "status=bogus", "priority=2..1",
                  "status=ready&status=ready", "attempts=x"):
        assert_error(client.delete(f"/jobs?{query}"), 400, prefix=PARAMS_ERROR)
    assert client.delete("/jobs?queue=nothing").json() == {"deleted": 0}
    assert client.delete(f"/jobs?id={'0' * 25}").json() == {"deleted": 0}
    assert client.delete("/jobs?filter=false").json() == {"deleted": 0}
    assert count(client) == 1
    # Dead or completed are fine to delete in bulk.
    assert client.delete("/jobs?status=dead,completed").json() == {"deleted": 0}


def test_bulk_delete_msgpack(client):
    put_many(client, 2, "mp")
    r = client.delete("/jobs?queue=mp", headers={"accept": MSGPACK})
    assert r.headers["content-type"] == MSGPACK
    assert msgpack.unpackb(r.content) == {"deleted": 2}


# --- POST /reset ---------------------------------------------------------------------


def test_reset_empties_everything(server, client):
    """RESET-01, RESET-02 (no licence)."""
    put_many(client, 3, "a")
    put(client, "b", ready_at=now_ms() + HOUR)
    failed = put(client, "c", retention={"dead_ms": HOUR})["id"]
    taken, stream = take(server, "c")
    client.post(f"/jobs/{failed}/failure", json={"message": "m", "kill": True})
    r = client.post("/reset")
    assert r.status_code == 204 and r.content == b""
    assert "content-type" not in r.headers
    assert count(client) == 0
    assert client.get("/jobs").json()["jobs"] == []
    assert client.get("/queues").json() == {"queues": []}
    assert client.get(f"/jobs/{failed}/errors").status_code == 404
    assert client.post("/reset").status_code == 204
    stream.close()


def test_reset_in_flight_job_and_taker(server, client):
    """RESET-03; the taker's prefetch slot is freed, so it gets later jobs."""
    job_id = put(client, "w")["id"]
    taken, stream = take(server, "w", prefetch=1)
    assert taken["id"] == job_id
    assert client.post("/reset").status_code == 204
    assert_error(client.post(f"/jobs/{job_id}/success"), 404, "job not found in in-flight set")
    after = put(client, "w")["id"]
    assert stream.read_job(3)["id"] == after
    stream.close()


# --- What workers see ------------------------------------------------------------------


def test_patch_queue_wakes_idle_taker_of_destination(server, client):
    stream = TakeStream(server.port, "queue=dest")
    stream.expect_no_job(0.2)
    job_id = put(client, "src")["id"]
    stream.expect_no_job(0.2)
    patch(client, job_id, {"queue": "dest"})
    got = stream.read_job(2)
    assert got["id"] == job_id and got["queue"] == "dest" and got["status"] == "in_flight"
    stream.close()


def test_bulk_patch_queue_wakes_idle_taker_of_destination(server, client):
    stream = TakeStream(server.port, "queue=dest&prefetch=0")
    ids = put_many(client, 3, "src")
    stream.expect_no_job(0.2)
    assert client.patch("/jobs?queue=src", json={"queue": "dest"}).json() == {"patched": 3}
    assert [j["id"] for j in stream.read_jobs(3, 2)] == ids
    stream.close()


def test_patch_queue_away_from_taker(server, client):
    ids = put_many(client, 2, "src")
    patch(client, ids[0], {"queue": "elsewhere"})
    stream = TakeStream(server.port, "queue=src&prefetch=0")
    assert stream.read_job()["id"] == ids[1]
    stream.expect_no_job(0.3)
    stream.close()


def test_patch_lower_priority_number_is_delivered_next(server, client):
    """MOD-14."""
    ids = put_many(client, 4, "p", priority=100)
    stream = TakeStream(server.port, "queue=p&prefetch=1")
    assert stream.read_job()["id"] == ids[0]
    patch(client, ids[3], {"priority": 50})
    patch(client, ids[1], {"priority": 200})
    client.post(f"/jobs/{ids[0]}/success")
    assert stream.read_job()["id"] == ids[3]
    client.post(f"/jobs/{ids[3]}/success")
    assert stream.read_job()["id"] == ids[2]
    client.post(f"/jobs/{ids[2]}/success")
    assert stream.read_job()["id"] == ids[1]
    stream.close()


def test_bulk_patch_priority_reorders_delivery(server, client):
    ids = put_many(client, 4, "p", priority=100)
    client.patch(f"/jobs?id={ids[2]},{ids[3]}", json={"priority": 1})
    stream = TakeStream(server.port, "queue=p&prefetch=0")
    assert [j["id"] for j in stream.read_jobs(4)] == [ids[2], ids[3], ids[0], ids[1]]
    stream.close()


def test_patch_null_ready_at_delivers_scheduled_job_at_once(server, client):
    job_id = put(client, "s", ready_at=now_ms() + HOUR)["id"]
    stream = TakeStream(server.port, "queue=s")
    stream.expect_no_job(0.2)
    started = time.monotonic()
    patch(client, job_id, {"ready_at": None})
    assert stream.read_job(2)["id"] == job_id
    assert time.monotonic() - started < 1.0
    stream.close()


def test_bulk_patch_null_ready_at_delivers_scheduled_jobs(server, client):
    ids = put_many(client, 3, "s", ready_at=now_ms() + HOUR)
    stream = TakeStream(server.port, "queue=s&prefetch=0")
    stream.expect_no_job(0.2)
    client.patch("/jobs?queue=s", json={"ready_at": None})
    assert sorted(j["id"] for j in stream.read_jobs(3, 2)) == ids
    stream.close()


def test_patch_future_ready_at_withdraws_ready_job(server, client):
    ids = put_many(client, 2, "s")
    patch(client, ids[0], {"ready_at": now_ms() + HOUR})
    stream = TakeStream(server.port, "queue=s&prefetch=0")
    assert stream.read_job()["id"] == ids[1]
    stream.expect_no_job(0.3)
    stream.close()


def test_patch_ready_at_soon_is_promoted_on_time(server, client):
    job_id = put(client, "s", ready_at=now_ms() + HOUR)["id"]
    stream = TakeStream(server.port, "queue=s")
    due = now_ms() + 400
    patch(client, job_id, {"ready_at": due})
    got = stream.read_job(3)
    assert got["id"] == job_id and got["ready_at"] == due
    assert now_ms() >= due
    stream.close()


def test_delete_in_flight_frees_prefetch_slot(server, client):
    ids = put_many(client, 3, "f")
    stream = TakeStream(server.port, "queue=f&prefetch=1")
    assert stream.read_job()["id"] == ids[0]
    stream.expect_no_job(0.2)
    assert client.delete(f"/jobs?id={ids[0]}").json() == {"deleted": 1}
    assert stream.read_job(2)["id"] == ids[1]
    assert client.delete("/jobs?queue=f&status=in_flight").json() == {"deleted": 1}
    assert stream.read_job(2)["id"] == ids[2]
    stream.close()


def test_deleted_ready_job_is_never_delivered(server, client):
    ids = put_many(client, 3, "f")
    client.delete(f"/jobs/{ids[1]}")
    stream = TakeStream(server.port, "queue=f&prefetch=0")
    assert [j["id"] for j in stream.read_jobs(2)] == [ids[0], ids[2]]
    stream.expect_no_job(0.3)
    stream.close()


def test_deleted_in_flight_job_is_not_requeued_on_disconnect(server, client):
    ids = put_many(client, 3, "f")
    stream = TakeStream(server.port, "queue=f&prefetch=0")
    assert [j["id"] for j in stream.read_jobs(3)] == ids
    assert client.delete(f"/jobs/{ids[0]}").status_code == 204
    assert client.delete(f"/jobs?id={ids[1]}").json() == {"deleted": 1}
    stream.close()
    wait_for(lambda: get(client, ids[2])["status"] == "ready", message="requeue")
    assert listed_ids(client) == [ids[2]]
    assert count(client) == 1 and count(client, "status=ready") == 1
    other = TakeStream(server.port, "queue=f&prefetch=0")
    assert other.read_job()["id"] == ids[2]
    other.expect_no_job(0.3)
    other.close()


def test_reset_in_flight_job_is_not_requeued_on_disconnect(server, client):
    job_id = put(client, "f")["id"]
    taken, stream = take(server, "f")
    client.post("/reset")
    stream.close()
    time.sleep(0.2)
    assert client.get(f"/jobs/{job_id}").status_code == 404
    assert count(client) == 0 and client.get("/queues").json() == {"queues": []}


def test_patched_scheduled_job_is_promoted_into_new_queue_and_priority(server, client):
    first = put(client, "dest", priority=10)["id"]
    due = now_ms() + 400
    moved = put(client, "src", ready_at=due)["id"]
    patch(client, moved, {"queue": "dest", "priority": 1})
    src = TakeStream(server.port, "queue=src&prefetch=0")
    stream = TakeStream(server.port, "queue=dest&prefetch=1")
    assert stream.read_job()["id"] == first
    time.sleep(max(0, due - now_ms()) / 1000 + 0.2)
    assert get(client, moved)["status"] == "ready"
    client.post(f"/jobs/{first}/success")
    got = stream.read_job(2)
    assert got["id"] == moved and got["queue"] == "dest" and got["priority"] == 1
    src.expect_no_job(0.2)
    src.close()
    stream.close()


def test_deleted_scheduled_job_is_never_promoted(server, client):
    due = now_ms() + 300
    doomed = put(client, "s", ready_at=due)["id"]
    kept = put(client, "s", ready_at=due)["id"]
    stream = TakeStream(server.port, "queue=s&prefetch=0")
    assert client.delete(f"/jobs/{doomed}").status_code == 204
    assert stream.read_job(3)["id"] == kept
    stream.expect_no_job(0.3)
    assert client.get(f"/jobs/{doomed}").status_code == 404
    stream.close()


def test_in_flight_job_moved_then_acked_leaves_no_trace(server, client):
    job_id = put(client, "src")["id"]
    taken, stream = take(server, "src")
    patch(client, job_id, {"queue": "dest"})
    assert client.get("/queues").json() == {"queues": ["dest"]}
    assert count(client, "queue=dest&status=in_flight") == 1
    assert count(client, "queue=src") == 0
    assert client.post(f"/jobs/{job_id}/success").status_code == 204
    assert client.get("/queues").json() == {"queues": []}
    assert count(client) == 0 and count(client, "queue=dest") == 0
    stream.close()


def test_literal_job_paths_are_not_job_ids(client):
    """``/jobs/count``, ``/jobs/bulk``, ``/jobs/success``, ``/jobs/take`` win."""
    for method, path in (("PATCH", "/jobs/count"), ("DELETE", "/jobs/bulk"),
                         ("PATCH", "/jobs/success"), ("DELETE", "/jobs/take"),
                         ("PATCH", "/jobs/bulk"), ("DELETE", "/jobs/success")):
        r = client.request(method, path, json={})
        assert r.status_code == 405, (method, path, r.status_code)


class Consumer(threading.Thread):
    """Reads a take stream and acks every job, recording what happened."""

    def __init__(self, server, query):
        super().__init__(daemon=True)
        self.stream = TakeStream(server.port, query)
        self.http = httpx.Client(base_url=server.url, timeout=10.0)
        self.received = []  # job objects, in arrival order
        self.acks = {}  # id -> ack status code
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            while True:
                try:
                    job = self.stream.read_job(0.3)
                except TimeoutError:
                    if self.stop.is_set():
                        return
                    continue
                self.received.append(job)
                self.acks[job["id"]] = self.http.post(f"/jobs/{job['id']}/success").status_code
        except Exception as exc:  # surfaced by finish()
            self.error = exc

    def finish(self):
        self.stop.set()
        self.join(10)
        self.stream.close()
        self.http.close()
        assert not self.is_alive()
        assert self.error is None, self.error


def test_bulk_patch_while_a_worker_consumes(make_server):
    server = make_server("--global-in-flight-limit", "0")
    prefetch = 4
    with server.client() as client:
        ids = put_many(client, 1500, "work")
        consumer = Consumer(server, f"queue=work&prefetch={prefetch}")
        consumer.start()
        wait_for(lambda: len(consumer.received) >= 50, message="first deliveries")
        r = client.patch("/jobs?queue=work", json={"queue": "moved"})
        seen_at_response = len(consumer.received)
        patched = r.json()["patched"]
        time.sleep(0.5)
        consumer.finish()

        delivered = [j["id"] for j in consumer.received]
        assert len(delivered) == len(set(delivered)), "a job was delivered twice"
        assert len(delivered) - seen_at_response <= prefetch, (
            "jobs were delivered to the 'work' taker after they were moved away"
        )
        assert set(consumer.acks.values()) == {204}
        remaining = listed_ids(client, "queue=moved")
        assert count(client, "queue=work") == 0
        assert all(get(client, i)["status"] == "ready" for i in remaining[:20])
        assert count(client, "queue=moved&status=ready") == len(remaining)
        assert sorted(delivered + remaining) == ids
        assert 0 <= patched - len(remaining) <= prefetch
        assert len(remaining) > 0, "consumer drained the queue before the patch"

        other = TakeStream(server.port, "queue=moved&prefetch=0")
        got = [j["id"] for j in other.read_jobs(len(remaining), 5)]
        assert got == remaining
        other.close()


def test_bulk_delete_while_a_worker_consumes(make_server):
    server = make_server("--global-in-flight-limit", "0")
    with server.client() as client:
        ids = put_many(client, 1500, "work")
        consumer = Consumer(server, "queue=work&prefetch=1")
        consumer.start()
        wait_for(lambda: len(consumer.received) >= 50, message="first deliveries")
        r = client.delete("/jobs?queue=work")
        seen_at_response = len(consumer.received)
        deleted = r.json()["deleted"]
        sentinel = put(client, "work", payload="sentinel")["id"]
        wait_for(lambda: any(j["id"] == sentinel for j in consumer.received),
                 message="the sentinel job (prefetch slot freed after the delete)")
        time.sleep(0.2)
        consumer.finish()

        delivered = [j["id"] for j in consumer.received if j["id"] != sentinel]
        assert len(delivered) == len(set(delivered)), "a job was delivered twice"
        assert set(delivered) <= set(ids)
        after = [j["id"] for j in consumer.received[seen_at_response:]
                 if j["id"] != sentinel]
        assert len(after) <= 1, f"{len(after)} deleted jobs delivered after the delete"
        acked = [i for i in delivered if consumer.acks[i] == 204]
        not_found = [i for i in delivered if consumer.acks[i] == 404]
        assert len(acked) + len(not_found) == len(delivered)
        assert len(not_found) <= 1
        assert len(acked) + deleted == len(ids)
        assert deleted > 0, "consumer drained the queue before the delete"
        assert consumer.acks[sentinel] == 204
        assert count(client) == 0
