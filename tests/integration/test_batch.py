"""Batched jobs over a real server (API.md 7.2.5, 2.8; rows BAT-*).

The pro server trusts a test issuer (``--license-public-key``) and is
shared by the module's tests, each with batch keys of its own; the
free-tier checks use a server without a key. The race test folds from
producers while 8 workers take and ack; the crash test kills a server with
kill -9 in the middle of a stream of folds. Both then check, through the
API, that every answered fold is in exactly one delivered job.
"""

import threading
import time

import httpx
import msgpack
import pytest

from tests.zizq_server.licence.keys import pro_licence_args

from .jobs import now_ms
from .streams import TakeStream

WHEN = "(($existing | .device_ids) + ($new | .device_ids)) | length <= 100"
FOLD = "$existing | .device_ids += ($new | .device_ids)"
GENEROUS_S = 60.0


def push(key, *ids, when=WHEN, fold=FOLD, **fields):
    return {
        "queue": "push",
        "type": "push.notifications",
        "payload": {"device_ids": list(ids), "platform": "apple"},
        "batch": {"key": key, "when": when, "fold": fold},
        **fields,
    }


@pytest.fixture
def client(pro_server):
    with pro_server.client() as c:
        yield c


def error(r) -> tuple:
    return r.status_code, r.json()["error"]


def payload(client, job_id) -> dict:
    return client.get(f"/jobs/{job_id}").json()["payload"]


def test_free_tier_checks_in_the_spec_order(make_server):
    """BAT-01; API.md 2.8 and 7.2.1's order: the 400 before the 403."""
    server = make_server()
    with server.client() as c:
        assert error(c.post("/jobs", json=push("k", "a"))) == (
            403,
            "batched jobs requires a pro license",
        )
        both = {**push("k", "a"), "unique_key": "u"}
        assert error(c.post("/jobs", json=both)) == (
            400,
            "unique_key and batch cannot be combined",
        )
        bulk = {"jobs": [{"queue": "q", "type": "t", "payload": 1}, push("k", "a")]}
        assert error(c.post("/jobs/bulk", json=bulk)) == (
            403,
            "batched jobs requires a pro license",
        )
        # A bad expression is still the licence's 403 (it is checked first).
        bad = push("k", "a", when=".[")
        assert c.post("/jobs", json=bad).status_code == 403


def test_the_spec_push_notification_example(client):
    """BAT-02, BAT-03: 201 then 200 folded, same id, merged payload."""
    first = client.post("/jobs", json=push("push:apple", "abc"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["folded"] is False and body["duplicate"] is False
    assert body["batch"] == {"key": "push:apple", "when": WHEN, "fold": FOLD}
    assert list(body["batch"]) == ["key", "when", "fold"]
    second = client.post("/jobs", json=push("push:apple", "def", "ghi"))
    assert second.status_code == 200, second.text
    assert second.json()["id"] == body["id"] and second.json()["folded"] is True
    assert "payload" not in second.json()
    assert payload(client, body["id"]) == {
        "device_ids": ["abc", "def", "ghi"],
        "platform": "apple",
    }
    listed = client.get("/jobs", params={"id": body["id"]}).json()["jobs"]
    assert listed[0]["batch"] == body["batch"]


def test_a_falsy_when_seals_and_starts_a_new_job(client):
    """BAT-04."""
    when = "(($existing | .device_ids) + ($new | .device_ids)) | length <= 2"
    first = client.post("/jobs", json=push("b04", "a", "b", when=when)).json()
    second = client.post("/jobs", json=push("b04", "c", when=when))
    assert second.status_code == 201 and second.json()["folded"] is False
    assert second.json()["id"] != first["id"]
    sealed = client.get(f"/jobs/{first['id']}").json()
    assert sealed["status"] == "ready" and sealed["payload"]["device_ids"] == ["a", "b"]
    assert sealed["batch"]["key"] == "b04"


def test_the_first_config_wins(client):
    """BAT-05."""
    first = client.post("/jobs", json=push("b05", "a")).json()
    later = push("b05", "b", when="false", fold="$new")
    r = client.post("/jobs", json=later)
    assert (r.status_code, r.json()["id"]) == (200, first["id"])
    job = client.get(f"/jobs/{first['id']}").json()
    assert job["batch"] == {"key": "b05", "when": WHEN, "fold": FOLD}
    assert job["payload"]["device_ids"] == ["a", "b"]


@pytest.mark.parametrize(
    "when, fold, body_payload, message",
    [
        (".[", "$new", 1, "batch expression: when: syntax error, unexpected end "
         "of file at <top-level>, line 1, column 2"),
        ("true", "nofn", 1, "batch expression: fold: nofn/0 is not defined at "
         "<top-level>, line 1, column 1"),
        ("true", "$new | .a + 1", "text",
         'batch dry-run: fold: Cannot index string with string ("a")'),
        ("true", "$existing, $new", 1,
         "batch dry-run: fold: fold expression produced more than one output"),
    ],
)
def test_expression_refusals_are_422(client, when, fold, body_payload, message):
    """BAT-06, BAT-07, BAT-08; nothing is written."""
    job = {**push("b06", when=when, fold=fold), "payload": body_payload}
    assert error(client.post("/jobs", json=job)) == (422, message)
    key = f"b06-{when}-{fold}"
    bulk = {"jobs": [push(key, "a"), job]}
    assert error(client.post("/jobs/bulk", json=bulk)) == (422, f"jobs[1]: {message}")
    assert client.post("/jobs", json=push(key, "z")).json()["folded"] is False


def test_a_scheduled_batched_enqueue_never_folds(client):
    """BAT-09."""
    later = client.post("/jobs", json=push("b09", "a", ready_at=now_ms() + 3_600_000))
    assert later.status_code == 201 and later.json()["status"] == "scheduled"
    assert later.json()["batch"]["key"] == "b09"
    ready = client.post("/jobs", json=push("b09", "b"))
    assert ready.status_code == 201 and ready.json()["id"] != later.json()["id"]
    again = client.post("/jobs", json=push("b09", "c", ready_at=now_ms() + 3_600_000))
    assert again.status_code == 201 and again.json()["folded"] is False
    assert payload(client, later.json()["id"])["device_ids"] == ["a"]
    assert payload(client, ready.json()["id"])["device_ids"] == ["b"]


def test_a_taken_batch_closes(pro_server, client):
    """BAT-10: the worker gets the merged payload once; the next is new."""
    first = client.post("/jobs", json=push("b10", "a", queue="b10")).json()
    client.post("/jobs", json=push("b10", "b", queue="b10"))
    stream = TakeStream(pro_server.port, "queue=b10&prefetch=1")
    try:
        taken = stream.read_job(10)
        assert taken["id"] == first["id"]
        assert taken["payload"]["device_ids"] == ["a", "b"]
        after = client.post("/jobs", json=push("b10", "c", queue="b10"))
        assert after.status_code == 201 and after.json()["id"] != first["id"]
        assert client.post(f"/jobs/{first['id']}/success").status_code == 204
    finally:
        stream.close()


def test_a_patched_to_scheduled_target_stops_being_one(client):
    first = client.post("/jobs", json=push("b10p", "a")).json()
    later = {"ready_at": now_ms() + 3_600_000}
    patched = client.patch(f"/jobs/{first['id']}", json=later)
    assert patched.json()["status"] == "scheduled"
    r = client.post("/jobs", json=push("b10p", "b"))
    assert r.status_code == 201 and r.json()["id"] != first["id"]


def test_a_bulk_folds_in_order(client):
    """BAT-11: two same-key jobs, first new, second folded, same id."""
    r = client.post("/jobs/bulk", json={"jobs": [push("b11", "a"), push("b11", "b")]})
    assert r.status_code == 201
    first, second = r.json()["jobs"]
    assert (first["folded"], second["folded"]) == (False, True)
    assert first["id"] == second["id"]
    assert payload(client, first["id"])["device_ids"] == ["a", "b"]
    # Every job a fold: 200.
    r = client.post("/jobs/bulk", json={"jobs": [push("b11", "c"), push("b11", "d")]})
    assert r.status_code == 200
    assert [j["folded"] for j in r.json()["jobs"]] == [True, True]
    assert {j["id"] for j in r.json()["jobs"]} == {first["id"]}


def test_msgpack_answers_say_folded(client):
    headers = {"accept": "application/msgpack"}
    client.post("/jobs", json=push("mp", "a"))
    r = client.post("/jobs", json=push("mp", "b"), headers=headers)
    assert r.status_code == 200 and msgpack.unpackb(r.content)["folded"] is True
    r = client.post("/jobs/bulk", json={"jobs": [push("mp", "c")]}, headers=headers)
    assert msgpack.unpackb(r.content)["jobs"][0]["folded"] is True


def test_a_fold_keeps_position_priority_queue_and_ready_at(pro_server, client):
    """BAT-12."""
    first = client.post("/jobs", json=push("b12", "a", queue="b12", priority=9)).json()
    other = client.post(
        "/jobs", json={"queue": "b12", "type": "t", "payload": 1, "priority": 9}
    ).json()
    folded = client.post(
        "/jobs", json=push("b12", "b", queue="elsewhere", priority=1, type="x")
    ).json()
    assert folded["folded"] is True
    job = client.get(f"/jobs/{first['id']}").json()
    for field in ("id", "priority", "queue", "type", "ready_at"):
        assert job[field] == first[field], field
    stream = TakeStream(pro_server.port, "queue=b12&prefetch=2")
    try:
        assert [j["id"] for j in stream.read_jobs(2, 10)] == [first["id"], other["id"]]
    finally:
        stream.close()


def test_a_fold_over_the_payload_limit_is_422(client):
    """The limit is the default request body limit, 16 MiB."""
    fold = '$existing | .pad = ("a" * 17000000)'
    first = client.post("/jobs", json=push("big", "a", when="true", fold=fold))
    assert first.status_code == 201, first.text
    r = client.post("/jobs", json=push("big", "b"))
    assert error(r) == (
        422,
        "batch fold failed: the folded payload is 17000048 bytes, "
        "over the limit of 16777216 bytes",
    )
    assert payload(client, first.json()["id"])["device_ids"] == ["a"]


def test_a_runaway_when_is_a_422_and_the_server_goes_on(client):
    r = client.post("/jobs", json=push("loop", "a", when="def f: f; f"))
    assert error(r) == (422, "batch expression exceeded the time limit of 1000 ms")
    assert client.post("/jobs", json=push("loop", "a")).status_code == 201


def _deliver(port: int, queue: str, delivered: list, stop: threading.Event):
    """A worker: take one at a time, record the payload's ids, ack."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=GENEROUS_S) as c:
        stream = TakeStream(port, f"queue={queue}&prefetch=1")
        try:
            while not stop.is_set():
                try:
                    job = stream.read_job(0.5)
                except TimeoutError:
                    continue
                delivered.append((job["id"], job["payload"]["device_ids"]))
                assert c.post(f"/jobs/{job['id']}/success").status_code == 204
        finally:
            stream.close()


def test_folds_racing_takes_from_8_workers_deliver_each_id_once(pro_server):
    ids = [f"d{n}" for n in range(600)]
    delivered = []
    stop = threading.Event()
    workers = [
        threading.Thread(target=_deliver, args=(pro_server.port, "race", delivered, stop))
        for _ in range(8)
    ]
    for w in workers:
        w.start()

    refused = []

    def produce(mine: list) -> None:
        with httpx.Client(base_url=pro_server.url, timeout=GENEROUS_S) as c:
            for n in range(0, len(mine), 3):
                chunk = mine[n : n + 3]
                if n % 2:
                    r = c.post("/jobs", json=push("race", *chunk, queue="race"))
                else:
                    jobs = [push("race", i, queue="race") for i in chunk]
                    r = c.post("/jobs/bulk", json={"jobs": jobs})
                if r.status_code not in (200, 201):
                    refused.append(r.text)

    producers = [threading.Thread(target=produce, args=(ids[p::4],)) for p in range(4)]
    for p in producers:
        p.start()
    for p in producers:
        p.join(GENEROUS_S)
    assert not refused
    deadline = time.monotonic() + GENEROUS_S
    while sum(len(got) for _, got in delivered) < len(ids):
        assert time.monotonic() < deadline, "not every id was delivered"
        time.sleep(0.05)
    stop.set()
    for w in workers:
        w.join(GENEROUS_S)
    got = [i for _, batch in delivered for i in batch]
    assert sorted(got) == sorted(ids)
    assert len({job_id for job_id, _ in delivered}) == len(delivered)


def test_kill_9_during_folds_loses_no_answered_fold(make_server, tmp_path):
    """After restart each target holds an old or new payload, every answered
    fold is in exactly one job, and the target is found again."""
    server = make_server(*pro_licence_args(tmp_path))
    when = "(($existing | .device_ids) + ($new | .device_ids)) | length <= 50"
    answered = []  # device ids whose enqueue was answered
    stop = threading.Event()

    def produce(name: str) -> None:
        with httpx.Client(base_url=server.url, timeout=5) as c:
            n = 0
            while not stop.is_set():
                device = f"{name}-{n}"
                try:
                    r = c.post("/jobs", json=push("crash", device, when=when))
                except httpx.HTTPError:  # the server was killed
                    return
                assert r.status_code in (200, 201), r.text
                answered.append(device)
                n += 1

    threads = [threading.Thread(target=produce, args=(f"p{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + GENEROUS_S
    while len(answered) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)  # then kill it mid-stream, whatever the machine's load
    server.kill()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(answered) >= 300
    server.start()
    with server.client() as c:
        listed = c.get("/jobs", params={"limit": 2000, "queue": "push"}).json()["jobs"]
        ready = [j for j in listed if j["status"] == "ready"]
        assert len(ready) == len(listed)
        stored = [i for j in listed for i in payload(c, j["id"])["device_ids"]]
        assert len(stored) == len(set(stored)), "a device id in two jobs"
        assert set(answered) <= set(stored)
        assert all(len(payload(c, j["id"])["device_ids"]) <= 50 for j in listed)
        # The last job is still the key's target: the next enqueue folds into
        # it unless it is full.
        last = max(j["id"] for j in listed)
        room = len(payload(c, last)["device_ids"]) < 50
        again = c.post("/jobs", json=push("crash", "after")).json()
        assert again["folded"] == room
        assert (again["id"] == last) == again["folded"]
