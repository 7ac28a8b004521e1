"""Unique jobs over a real server (API.md 7.2.4, 2.8; rows UNQ-*).

The pro server trusts a test issuer (``--license-public-key``) and is
shared by the module's tests, each with keys of its own; the free-tier
checks use a server without a key. The crash test kills a server with
kill -9 in the middle of concurrent unique enqueues and checks, through
the API, that every key is held by exactly the job that exists for it.
"""

import threading
import time

import httpx
import msgpack
import pytest

from tests.zizq_server.licence.keys import pro_licence_args

from .streams import TakeStream

JOB = {"queue": "q", "type": "t", "payload": 1}
BATCH = {"key": "b", "when": "true", "fold": "$new"}
BAD_SCOPE = 'invalid unique_while: "forever" (expected "queued", "active", or "exists")'


@pytest.fixture
def client(pro_server):
    with pro_server.client() as c:
        yield c


def post(client, **fields):
    return client.post("/jobs", json={**JOB, **fields})


def error(r) -> tuple:
    return r.status_code, r.json()["error"]


def test_free_tier_checks_in_the_spec_order(make_server):
    """UNQ-01, UNQ-04, UNQ-12; API.md 7.2.1 and 7.2.3's orders."""
    server = make_server()
    with server.client() as c:
        assert error(post(c, unique_key="k")) == (
            403,
            "unique jobs requires a pro license",
        )
        # The 400s before the licence: scope without key, key with batch.
        assert error(post(c, unique_while="forever")) == (
            400,
            "unique_while requires unique_key",
        )
        assert error(post(c, unique_key="k", batch=BATCH)) == (
            400,
            "unique_key and batch cannot be combined",
        )
        # A single job's scope value comes after the licence...
        assert error(post(c, unique_key="k", unique_while="forever")) == (
            403,
            "unique jobs requires a pro license",
        )
        # ...a bulk job's before it.
        bulk = {"jobs": [JOB, {**JOB, "unique_key": "k", "unique_while": "forever"}]}
        assert error(c.post("/jobs/bulk", json=bulk)) == (400, f"jobs[1]: {BAD_SCOPE}")
        bulk = {"jobs": [JOB, {**JOB, "unique_key": "k"}]}
        assert error(c.post("/jobs/bulk", json=bulk)) == (
            403,
            "unique jobs requires a pro license",
        )
        assert c.get("/jobs/count").json() == {"count": 0}


def test_new_then_duplicate_with_global_keys(client):
    """UNQ-02, UNQ-03, UNQ-05, UNQ-09."""
    r = post(client, unique_key="u02")
    assert r.status_code == 201
    first = r.json()
    assert (first["unique_key"], first["unique_while"]) == ("u02", "queued")
    assert (first["duplicate"], first["folded"]) == (False, False)
    assert list(first)[-4:] == ["unique_key", "unique_while", "duplicate", "folded"]
    r = client.post(
        "/jobs",
        json={"queue": "other", "type": "x", "payload": 2, "unique_key": "u02"},
    )
    assert r.status_code == 200
    assert r.json() == {**first, "duplicate": True}
    assert client.get("/jobs/count", params={"queue": "q,other"}).json() == {"count": 1}
    assert error(post(client, unique_key="u05", unique_while="forever")) == (
        400,
        BAD_SCOPE,
    )
    packed = msgpack.packb({**JOB, "unique_key": "u02"})
    r = client.post(
        "/jobs",
        content=packed,
        headers={
            "content-type": "application/msgpack",
            "accept": "application/msgpack",
        },
    )
    assert r.status_code == 200
    assert msgpack.unpackb(r.content)["duplicate"] is True


def test_bulk_duplicates_inside_and_across_requests(client):
    """UNQ-10, UNQ-11."""
    jobs = [
        {**JOB, "unique_key": "u10a"},
        JOB,
        {**JOB, "unique_key": "u10a", "unique_while": "exists"},
        {**JOB, "unique_key": "u10b", "unique_while": "active"},
    ]
    r = client.post("/jobs/bulk", json={"jobs": jobs})
    assert r.status_code == 201
    made = r.json()["jobs"]
    assert [j["duplicate"] for j in made] == [False, False, True, False]
    assert made[2]["id"] == made[0]["id"] and made[2]["unique_while"] == "queued"
    again = [{**JOB, "unique_key": "u10b"}, {**JOB, "unique_key": "u10a"}]
    r = client.post("/jobs/bulk", json={"jobs": again})
    assert r.status_code == 200
    assert [(j["id"], j["duplicate"]) for j in r.json()["jobs"]] == [
        (made[3]["id"], True),
        (made[0]["id"], True),
    ]
    r = client.post(
        "/jobs/bulk",
        content=msgpack.packb({"jobs": again + [JOB]}),
        headers={
            "content-type": "application/msgpack",
            "accept": "application/msgpack",
        },
    )
    assert r.status_code == 201
    assert [j["duplicate"] for j in msgpack.unpackb(r.content)["jobs"]] == [
        True,
        True,
        False,
    ]


def test_scopes_through_take_ack_and_death(pro_server, client):
    """UNQ-06, UNQ-07, UNQ-13."""
    queue = {"queue": "scopes"}
    queued = post(client, unique_key="u06", **queue).json()
    active = post(client, unique_key="u07", unique_while="active", **queue).json()
    stream = TakeStream(pro_server.port, "queue=scopes&prefetch=2")
    try:
        taken = {stream.read_job(5)["id"], stream.read_job(5)["id"]}
        assert taken == {queued["id"], active["id"]}
        r = post(client, unique_key="u06", ready_at=2**62)
        assert r.status_code == 201 and r.json()["id"] != queued["id"]
        r = post(client, unique_key="u07", unique_while="active", ready_at=2**62)
        assert (r.status_code, r.json()["id"]) == (200, active["id"])
        assert r.json()["status"] == "in_flight"
        assert client.post(f"/jobs/{active['id']}/success").status_code == 204
        r = post(client, unique_key="u07", unique_while="active", ready_at=2**62)
        assert r.status_code == 201
        r = client.post(
            f"/jobs/{queued['id']}/failure", json={"message": "m", "kill": True}
        )
        assert r.json()["status"] == "dead"
    finally:
        stream.close()


def test_exists_holds_until_deleted(pro_server, client):
    """UNQ-08, with the job completed and retained."""
    held = post(
        client,
        unique_key="u08",
        unique_while="exists",
        queue="exists",
        retention={"completed_ms": 3_600_000},
    ).json()
    stream = TakeStream(pro_server.port, "queue=exists")
    try:
        assert stream.read_job(5)["id"] == held["id"]
        assert client.post(f"/jobs/{held['id']}/success").status_code == 204
    finally:
        stream.close()
    r = post(client, unique_key="u08", unique_while="exists")
    assert (r.status_code, r.json()["id"], r.json()["status"]) == (
        200,
        held["id"],
        "completed",
    )
    assert client.delete(f"/jobs/{held['id']}").status_code == 204
    assert post(client, unique_key="u08", unique_while="exists").status_code == 201


def test_kill_9_during_unique_enqueues_keeps_keys_and_jobs_together(
    make_server, tmp_path
):
    """Every key is held by the one job that exists for it, after a crash."""
    server = make_server(*pro_licence_args(tmp_path))
    keys = [f"k{i}" for i in range(300)]
    answered = {}  # key -> the id an answer named
    conflicts = []  # keys two answers named different jobs for
    stop = threading.Event()

    def produce(offset: int, bulk: bool) -> None:
        with httpx.Client(base_url=server.url, timeout=5) as c:
            i = offset
            while not stop.is_set():
                batch = [keys[(i + n * 7) % len(keys)] for n in range(5 if bulk else 1)]
                jobs = [{**JOB, "unique_key": k} for k in batch]
                try:
                    if bulk:
                        made = c.post("/jobs/bulk", json={"jobs": jobs}).json()["jobs"]
                    else:
                        made = [c.post("/jobs", json=jobs[0]).json()]
                except httpx.HTTPError:  # the server was killed
                    return
                for key, job in zip(batch, made):
                    if answered.setdefault(key, job["id"]) != job["id"]:
                        conflicts.append(key)
                i += 13

    threads = [
        threading.Thread(target=produce, args=(n * 37, n % 2 == 1)) for n in range(4)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(answered) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)  # then kill it mid-stream, whatever the machine's load
    server.kill()
    stop.set()
    for t in threads:
        t.join(10)
    assert 60 <= len(answered) < len(keys) and not conflicts
    server.start()
    with server.client() as c:
        listed = c.get("/jobs", params={"limit": 2000}).json()["jobs"]
        by_key = {}
        for job in listed:
            assert job["unique_key"] not in by_key, "two jobs for one key"
            by_key[job["unique_key"]] = job["id"]
        assert answered.items() <= by_key.items()
        again = c.post(
            "/jobs/bulk", json={"jobs": [{**JOB, "unique_key": k} for k in keys]}
        )
        for key, job in zip(keys, again.json()["jobs"]):
            # Held by the job that exists, or free when none does.
            assert job["duplicate"] == (key in by_key)
            assert job["id"] == by_key.get(key, job["id"])
