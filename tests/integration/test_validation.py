"""Input the server must refuse cleanly, or compute without failing (issue 16).

Over a real ``zizq serve``: a backoff whose delay is beyond any clock
schedules the job for the end of time instead of answering 500 and leaving
it stuck; numbers beyond a double, non-finite MessagePack floats and an
exponent outside f32 are 400s naming the field; a field given twice is a
400 ``duplicate field`` on every endpoint with a JSON body (but not inside
a payload, which is any JSON value); names longer than 255 bytes are
refused (400 on enqueue, 422 on PATCH).
"""

import msgpack
import pytest

from .jobs import put
from .streams import TakeStream

MAX_U64 = 18446744073709551615
MSGPACK = {"content-type": "application/msgpack"}


def _post(client, path, body: bytes, method="POST", headers=None):
    headers = headers or {"content-type": "application/json"}
    return client.request(method, path, content=body, headers=headers)


def _error(r, status=400) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()["error"]


def test_a_backoff_beyond_any_clock_schedules_for_the_end_of_time(server, client):
    backoff = {"exponent": 1000, "base_ms": 0, "jitter_ms": 0}
    job_id = put(client, payload={}, backoff=backoff)["id"]
    stream = TakeStream(server.port, "prefetch=0")
    assert stream.read_job()["id"] == job_id
    first = client.post(f"/jobs/{job_id}/failure", json={"message": "one"})
    assert first.status_code == 200 and first.json()["attempts"] == 1
    # Ready again at once, taken again, failed again: 2^1000 s of delay.
    assert client.patch(f"/jobs/{job_id}", json={"ready_at": None}).status_code == 200
    assert stream.read_job()["id"] == job_id
    r = client.post(f"/jobs/{job_id}/failure", json={"message": "two"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["attempts"]) == ("scheduled", 2)
    assert r.json()["ready_at"] == MAX_U64
    got = client.get(f"/jobs/{job_id}").json()
    assert (got["status"], got["ready_at"]) == ("scheduled", MAX_U64)
    assert client.get("/jobs/count", params={"status": "in_flight"}).json() == {
        "count": 0
    }
    errors = client.get(f"/jobs/{job_id}/errors").json()["errors"]
    assert [e["message"] for e in errors] == ["one", "two"]
    stream.close()
    assert "unhandled error" not in server.messages()


@pytest.mark.parametrize(
    "exponent, shown",
    [(1e39, "1e+39"), (-3.5e38, "-3.5e+38")],
)
def test_an_exponent_outside_f32_is_refused(client, exponent, shown):
    backoff = {"exponent": exponent, "base_ms": 0, "jitter_ms": 0}
    r = client.post("/jobs", json={"queue": "q", "type": "t", "payload": 1, "backoff": backoff})
    assert _error(r) == (
        f"invalid JSON: exponent: invalid value: floating point `{shown}`, "
        "expected a finite f32"
    )
    job_id = put(client)["id"]
    r = client.patch(f"/jobs/{job_id}", json={"backoff": backoff})
    assert "expected a finite f32" in _error(r)


@pytest.mark.parametrize(
    "path, method, body, message",
    [
        (
            "/jobs", "POST",
            b'{"queue":"q","type":"t","payload":1,"priority":1e400}',
            "invalid JSON: priority: invalid value: number `1e400`, expected u16 "
            "at line 1 column 48",
        ),
        (
            "/jobs", "POST",
            b'{"queue":"q","type":"t","payload":{"n":[-1e400]}}',
            "invalid JSON: payload: invalid value: number `-1e400`, expected a "
            "finite number (a payload is a JSON value) at line 1 column 41",
        ),
        (
            "/jobs/bulk", "POST",
            b'{"jobs":[{"queue":"q","type":"t","payload":1},'
            b'{"queue":"q","type":"t","payload":1,"ready_at":1e999}]}',
            "invalid JSON: jobs[1]: ready_at: invalid value: number `1e999`, "
            "expected u64 at line 1 column 94",
        ),
        (
            "/jobs/{id}", "PATCH",
            b'{"backoff":{"exponent":1e400,"base_ms":0,"jitter_ms":0}}',
            "invalid JSON: exponent: invalid value: number `1e400`, expected a "
            "finite f32 at line 1 column 24",
        ),
        (
            "/jobs/{id}/failure", "POST",
            b'{"message":"m","retry_at":1e400}',
            "invalid JSON: retry_at: invalid value: number `1e400`, expected u64 "
            "at line 1 column 27",
        ),
    ],
    ids=["enqueue", "payload", "bulk", "patch", "failure"],
)
def test_a_number_beyond_a_double_names_its_field(client, path, method, body, message):
    job_id = put(client)["id"]
    r = _post(client, path.replace("{id}", job_id), body, method)
    assert _error(r) == message


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"queue": "q", "type": "t", "payload": 1, "priority": float("inf")},
            "invalid MessagePack: priority: invalid value: floating point `inf`, "
            "expected u16",
        ),
        (
            {"queue": "q", "type": "t", "payload": {"x": [1, float("nan")]}},
            "invalid MessagePack: payload: invalid value: floating point `nan`, "
            "expected a finite number (a payload is a JSON value)",
        ),
        (
            {
                "queue": "q", "type": "t", "payload": 1,
                "backoff": {"exponent": float("-inf"), "base_ms": 0, "jitter_ms": 0},
            },
            "invalid MessagePack: exponent: invalid value: floating point `-inf`, "
            "expected a finite f32",
        ),
    ],
    ids=["priority", "payload", "exponent"],
)
def test_a_non_finite_msgpack_float_names_its_field(client, body, message):
    r = _post(client, "/jobs", msgpack.packb(body), headers=MSGPACK)
    assert _error(r) == message
    bulk = msgpack.packb({"jobs": [{"queue": "q", "type": "t", "payload": 1}, body]})
    r = _post(client, "/jobs/bulk", bulk, headers=MSGPACK)
    assert _error(r) == message.replace("MessagePack: ", "MessagePack: jobs[1]: ")
    assert client.get("/jobs/count").json() == {"count": 0}


@pytest.mark.parametrize(
    "path, method, body, message",
    [
        (
            "/jobs", "POST",
            b'{"queue":"a","queue":"b","type":"t","payload":1}',
            "invalid JSON: duplicate field `queue` at line 1 column 20",
        ),
        (
            "/jobs", "POST",
            b'{"queue":"a","type":"t","payload":1,"backoff":'
            b'{"exponent":1,"base_ms":1,"base_ms":2,"jitter_ms":0}}',
            "invalid JSON: duplicate field `base_ms` at line 1 column 81",
        ),
        (
            "/jobs/bulk", "POST",
            b'{"jobs":[{"queue":"a","type":"t","payload":1},'
            b'{"queue":"a","type":"t","type":"u","payload":1}]}',
            "invalid JSON: duplicate field `type` at line 1 column 76",
        ),
        (
            "/jobs/bulk", "POST",
            b'{"jobs":[],"jobs":[]}',
            "invalid JSON: duplicate field `jobs` at line 1 column 17",
        ),
        (
            "/jobs/{id}", "PATCH",
            b'{"priority":1,"priority":2}',
            "invalid JSON: duplicate field `priority` at line 1 column 24",
        ),
        (
            "/jobs?queue=q", "PATCH",
            b'{"priority":1,"priority":2}',
            "invalid JSON: duplicate field `priority` at line 1 column 24",
        ),
        (
            "/jobs/{id}/failure", "POST",
            b'{"message":"a","message":"b"}',
            "invalid JSON: duplicate field `message` at line 1 column 24",
        ),
        (
            "/jobs/success", "POST",
            b'{"ids":["x"],"ids":["y"]}',
            "invalid JSON: duplicate field `ids` at line 1 column 18",
        ),
    ],
    ids=["enqueue", "backoff", "bulk-job", "bulk-jobs", "patch", "patch-bulk",
         "failure", "bulk-ack"],
)
def test_a_field_given_twice_is_refused(client, path, method, body, message):
    job_id = put(client)["id"]
    r = _post(client, path.replace("{id}", job_id), body, method)
    assert _error(r) == message
    assert client.get("/jobs/count").json() == {"count": 1}
    assert client.get(f"/jobs/{job_id}").json()["priority"] == 32768


def test_repeats_inside_a_payload_or_of_unknown_keys_are_accepted(client):
    body = b'{"queue":"q","type":"t","x":1,"x":2,"payload":{"a":1,"a":2}}'
    r = _post(client, "/jobs", body)
    assert r.status_code == 201, r.text
    assert client.get(f"/jobs/{r.json()['id']}").json()["payload"] == {"a": 2}
    bulk = b'{"jobs":[{"queue":"q","type":"t","payload":{"b":[1],"b":[2]}}]}'
    r = _post(client, "/jobs/bulk", bulk)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("field", ["queue", "type"])
def test_names_longer_than_255_bytes_are_refused(client, field):
    long_ascii, long_utf8 = "q" * 256, "\u00e9" * 128  # 256 bytes of UTF-8
    for name in (long_ascii, long_utf8):
        body = {"queue": "q", "type": "t", "payload": 1, field: name}
        r = client.post("/jobs", json=body)
        assert _error(r) == f"{field} must not be longer than 255 bytes"
        r = client.post("/jobs/bulk", json={"jobs": [body]})
        assert _error(r) == f"jobs[0]: {field} must not be longer than 255 bytes"
    assert put(client, **{field: "q" * 255})["id"]
    assert put(client, **{field: "\u00e9" * 127})["id"]


def test_patch_to_a_queue_longer_than_255_bytes_is_422(client):
    job_id = put(client)["id"]
    r = client.patch(f"/jobs/{job_id}", json={"queue": "q" * 256})
    assert _error(r, 422) == "queue must not be longer than 255 bytes"
    r = client.patch("/jobs", json={"queue": "q" * 256})
    assert _error(r, 422) == "queue must not be longer than 255 bytes"


def test_times_at_the_u64_maximum_are_kept_not_overflowed(server, client):
    """ready_at, retention and retry_at at the top of their range (API.md 2.6)."""
    far = put(client, ready_at=MAX_U64)
    assert (far["status"], far["ready_at"]) == ("scheduled", MAX_U64)
    kept = {"completed_ms": MAX_U64, "dead_ms": MAX_U64}
    job_id = put(client, retention=kept)["id"]
    stream = TakeStream(server.port, "prefetch=0")
    assert stream.read_job()["id"] == job_id
    r = client.post(f"/jobs/{job_id}/failure", json={"message": "m", "retry_at": MAX_U64})
    assert (r.status_code, r.json()["ready_at"]) == (200, MAX_U64), r.text
    r = client.patch(f"/jobs/{job_id}", json={"ready_at": 0})
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert stream.read_job()["id"] == job_id
    r = client.post(f"/jobs/{job_id}/failure", json={"message": "m", "kill": True})
    assert (r.json()["status"], r.json()["purge_at"]) == ("dead", MAX_U64), r.text
    r = client.patch(f"/jobs/{far['id']}", json={"ready_at": MAX_U64 - 1})
    assert r.status_code == 200 and r.json()["ready_at"] == MAX_U64 - 1
    stream.close()
    assert client.get("/health").status_code == 200
    assert "unhandled error" not in server.messages()
