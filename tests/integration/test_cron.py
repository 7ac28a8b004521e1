"""Cron scheduling over a real server with a pro licence (API.md 7.6, CRON-*).

One licensed server serves the module (each test starts from ``POST
/reset``); the tests that kill or restart a server start their own.
Firing is watched on ``* * * * * *`` entries, which are due every second.
"""

import time

import msgpack
import pytest

from tests.zizq_server.licence.keys import Issuer, pro_licence_args


JOB = {"queue": "reports", "type": "build", "payload": {"full": True}}


def entry(name="e", expression="0 6 * * *", **fields):
    return {"name": name, "expression": expression, "job": dict(JOB), **fields}


@pytest.fixture(scope="module")
def issuer():
    return Issuer()


@pytest.fixture(scope="module")
def licence_args(tmp_path_factory):
    return pro_licence_args(tmp_path_factory.mktemp("issuer"))


@pytest.fixture
def client(pro_server):
    with pro_server.client() as c:
        assert c.post("/reset").status_code == 204
        yield c


def wait_until(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)
    return result


def jobs(client, queue="reports") -> list:
    return client.get("/jobs", params={"queue": queue}).json()["jobs"]


def test_put_group_answers_the_group_in_request_order(client):
    """CRON-02, CRON-12: shapes, key order, defaults filled in."""
    before = int(time.time() * 1000)
    r = client.put(
        "/crons/default",
        json={
            "entries": [
                entry(
                    "warehouse", timezone="Europe/Rome", job={**JOB, "priority": 1000}
                ),
                entry(
                    "tokens",
                    "*/15 * * * *",
                    job={
                        **JOB,
                        "retry_limit": 3,
                        "backoff": {"exponent": 2, "base_ms": 10, "jitter_ms": 0},
                        "retention": {"dead_ms": 5},
                    },
                ),
            ]
        },
    )
    assert r.status_code == 200
    group = r.json()
    assert list(group) == ["name", "paused", "entries"]
    assert (group["name"], group["paused"]) == ("default", False)
    warehouse, tokens = group["entries"]
    assert list(warehouse) == [
        "name",
        "expression",
        "timezone",
        "paused",
        "job",
        "next_enqueue_at",
    ]
    assert warehouse["job"] == {
        "type": "build",
        "queue": "reports",
        "priority": 1000,
        "payload": {"full": True},
    }
    assert list(tokens) == ["name", "expression", "paused", "job", "next_enqueue_at"]
    assert list(tokens["job"]) == [
        "type",
        "queue",
        "priority",
        "payload",
        "retry_limit",
        "backoff",
        "retention",
    ]
    assert tokens["job"]["priority"] == 32768
    assert tokens["job"]["retention"] == {"dead_ms": 5}
    for e in (warehouse, tokens):
        assert e["next_enqueue_at"] > before and e["next_enqueue_at"] % 1000 == 0
    assert tokens["next_enqueue_at"] % (15 * 60_000) == 0
    # GET sorts the entries by name.
    got = client.get("/crons/default").json()
    assert [e["name"] for e in got["entries"]] == ["tokens", "warehouse"]
    assert got["entries"][1] == warehouse


def test_msgpack_and_http2_answer_the_same_objects(client, pro_server):
    body = {"entries": [entry("a", timezone="UTC"), entry("b", paused=True)]}
    packed = msgpack.packb(body)
    r = client.put(
        "/crons/m",
        content=packed,
        headers={
            "content-type": "application/msgpack",
            "accept": "application/msgpack",
        },
    )
    assert r.status_code == 200
    group = msgpack.unpackb(r.content)
    assert group == client.get("/crons/m").json()
    with pro_server.h2_client() as h2:
        r = h2.get("/crons/m/entries/b")
        assert r.http_version == "HTTP/2"
        assert r.json() == group["entries"][1]
        r = h2.delete("/crons/m")
        assert (r.status_code, r.content) == (204, b"")


def test_a_repeated_put_keeps_the_schedule_and_drops_what_it_omits(client):
    """CRON-03, CRON-04, CRON-05, CRON-22."""
    first = client.put(
        "/crons/g",
        json={"paused": True, "entries": [entry("a"), entry("b", paused=True)]},
    ).json()
    again = client.put("/crons/g", json={"entries": [entry("a"), entry("b")]}).json()
    assert again == first  # omitted ``paused`` keeps group and entry paused
    changed = client.put(
        "/crons/g",
        json={"entries": [entry("a", "*/2 * * * * *", job={**JOB, "priority": 1})]},
    ).json()
    (a,) = changed["entries"]
    assert a["next_enqueue_at"] != first["entries"][0]["next_enqueue_at"]
    assert a["next_enqueue_at"] - time.time() * 1000 <= 2000
    assert a["next_enqueue_at"] % 1000 == 0 and a["job"]["priority"] == 1


@pytest.mark.parametrize(
    "body, error",
    [
        ({"entries": [entry(expression="nope")]}, "invalid cron expression: "),
        ({"entries": [entry(expression="* * * * * * *")]}, "invalid cron expression: "),
        ({"entries": [entry(timezone="Mars/Base")]}, 'invalid timezone: "Mars/Base"'),
        (
            {"entries": [entry(job={**JOB, "ready_at": 1})]},
            "ready_at is not supported for cron entries",
        ),
        ({"entries": [entry("x"), entry("x")]}, 'duplicate cron entry name: "x"'),
        ({"entries": [entry("a,b")]}, "cron entry name must not contain ','"),
        ({"entries": [entry("")]}, "cron entry name must not be empty"),
        (
            {"entries": [entry(job={**JOB, "queue": "a*"})]},
            "queue must not contain '*' (reserved)",
        ),
        ({"entries": [entry(job={**JOB, "type": ""})]}, "type must not be empty"),
        (
            {
                "entries": [
                    entry(
                        job={
                            **JOB,
                            "unique_key": "k",
                            "batch": {"key": "b", "when": "true", "fold": "$new"},
                        }
                    )
                ]
            },
            "unique_key and batch cannot be combined",
        ),
        (
            {
                "entries": [
                    entry(job={**JOB, "unique_key": "k", "unique_while": "never"})
                ]
            },
            'invalid unique_while: "never" (expected "queued", "active", or "exists")',
        ),
        # Rules of every entry come before any entry's expression.
        (
            {"entries": [entry("a", "nope"), entry("b,")]},
            "cron entry name must not contain ','",
        ),
    ],
)
def test_put_group_validation(client, body, error):
    """CRON-06, CRON-08, CRON-09, CRON-10."""
    r = client.put("/crons/g", json=body)
    assert r.status_code == 400
    assert r.json()["error"].startswith(error)
    assert client.get("/crons").json() == {"crons": []}


def test_group_name_rules_come_first(client):
    r = client.put("/crons/a%5Bb", json={"entries": [entry("x"), entry("x")]})
    assert (r.status_code, r.json()) == (
        400,
        {"error": "cron group name must not contain '[' (reserved)"},
    )


def test_bodies_are_decoded_before_anything_else(client):
    r = client.patch("/crons/missing", json={})
    assert r.status_code == 400 and "missing field `paused`" in r.json()["error"]
    r = client.put(
        "/crons/g", json={"entries": [{"name": "e", "expression": "* * * * *"}]}
    )
    assert r.status_code == 400 and "missing field `job`" in r.json()["error"]
    r = client.put("/crons/g", json={"entries": [entry(paused="yes")]})
    assert r.status_code == 400 and "paused: invalid type" in r.json()["error"]


def test_six_fields_and_time_zones_are_echoed(client):
    """CRON-07, CRON-08."""
    r = client.put(
        "/crons/g",
        json={
            "entries": [entry("s", "*/2 * * * * *"), entry("z", timezone="Asia/Tokyo")]
        },
    )
    s, z = r.json()["entries"]
    assert 0 < s["next_enqueue_at"] - time.time() * 1000 <= 2000
    assert s["next_enqueue_at"] % 2000 == 0
    assert z["timezone"] == "Asia/Tokyo"
    # 06:00 in Tokyo is 21:00 UTC.
    assert (z["next_enqueue_at"] // 1000) % 86_400 == 21 * 3600


def test_entries_fire_their_template(client, pro_server):
    """CRON-11: a job about every second, ``last_enqueue_at`` following."""
    client.put("/crons/ticks", json={"entries": [entry("tick", "* * * * * *")]})
    fired = wait_until(lambda: len(jobs(client)) >= 2 and jobs(client), timeout=5)
    job = client.get(f"/jobs/{fired[0]['id']}").json()
    assert (job["type"], job["queue"], job["payload"]) == (
        "build",
        "reports",
        {"full": True},
    )
    e = client.get("/crons/ticks/entries/tick").json()
    assert e["last_enqueue_at"] >= fired[1]["ready_at"]
    assert e["next_enqueue_at"] > e["last_enqueue_at"]
    # The server is shared: earlier tests' groups fire and log too.
    line = wait_until(
        lambda: next(
            (
                r
                for r in pro_server.lines
                if r["fields"].get("message") == "cron job enqueued"
                and r["fields"]["group"] == "ticks"
            ),
            None,
        ),
        timeout=5,
    )
    assert line["fields"]["entry"] == "tick"
    assert line["fields"]["next_enqueue_at"].startswith("Some(")


def test_a_paused_group_keeps_time_and_enqueues_nothing(client):
    """CRON-13, CRON-14."""
    client.put("/crons/g", json={"entries": [entry("tick", "* * * * * *")]})
    wait_until(lambda: jobs(client))
    paused = client.patch("/crons/g", json={"paused": True}).json()
    assert paused["paused"] is True and "resumed_at" not in paused
    count = len(jobs(client))
    next_at = paused["entries"][0]["next_enqueue_at"]
    wait_until(
        lambda: (
            client.get("/crons/g").json()["entries"][0]["next_enqueue_at"]
            >= next_at + 1000
        )
    )
    assert len(jobs(client)) == count
    resumed = client.patch("/crons/g", json={"paused": False}).json()
    assert resumed["paused"] is False
    assert resumed["paused_at"] == paused["paused_at"] < resumed["resumed_at"]
    wait_until(lambda: len(jobs(client)) > count)


def test_a_paused_entry_alone_stops(client):
    """CRON-15."""
    client.put(
        "/crons/g",
        json={
            "entries": [
                entry("a", "* * * * * *", job={**JOB, "queue": "a"}),
                entry("b", "* * * * * *", job={**JOB, "queue": "b"}),
            ]
        },
    )
    e = client.patch("/crons/g/entries/a", json={"paused": True}).json()
    assert e["paused"] is True and "paused_at" in e
    count = len(jobs(client, "a"))
    wait_until(lambda: len(jobs(client, "b")) >= 2)
    assert len(jobs(client, "a")) <= count + 1  # at most one already under way
    assert client.get("/crons/g").json()["paused"] is False


def test_missing_groups_and_entries(client):
    """CRON-16, CRON-18."""
    assert client.get("/crons/g").json() == {"error": "cron group 'g' not found"}
    assert client.get("/crons/g").status_code == 404
    assert client.patch("/crons/g", json={"paused": True}).status_code == 404
    assert client.delete("/crons/g").status_code == 404
    r = client.get("/crons/g/entries/e")
    assert (r.status_code, r.json()) == (
        404,
        {"error": "cron entry 'e' not found in group 'g'"},
    )
    client.put("/crons/g", json={"entries": []})
    for r in (
        client.get("/crons/g/entries/e"),
        client.delete("/crons/g/entries/e"),
        client.patch("/crons/g/entries/e", json={"paused": True}),
    ):
        assert (r.status_code, r.json()) == (
            404,
            {"error": "cron entry 'e' not found in group 'g'"},
        )


def test_list_and_delete(client):
    """CRON-17, CRON-18, GEN-16."""
    for name in ("b", "a", "é", "Z"):
        client.put(f"/crons/{name}", json={"entries": [entry()]})
    assert client.get("/crons").json() == {"crons": ["Z", "a", "b", "é"]}
    r = client.delete("/crons/a/entries/e")
    assert (r.status_code, r.content) == (204, b"")
    assert client.get("/crons/a").json()["entries"] == []  # the group stays
    r = client.delete("/crons/a")
    assert (r.status_code, r.content) == (204, b"")
    assert client.delete("/crons/a").status_code == 404
    assert client.delete("/crons").json() == {"deleted": 3}
    assert client.delete("/crons").json() == {"deleted": 0}


def test_put_and_add_single_entries(client):
    """CRON-19, CRON-20."""
    r = client.put("/crons/g/entries/path", json=entry("body"))
    assert r.status_code == 200 and r.json()["name"] == "path"
    assert client.get("/crons/g").json()["paused"] is False
    assert client.put("/crons/g/entries/path", json=entry("bad,")).status_code == 400
    r = client.put("/crons/g/entries/", json=entry("body"))
    assert r.json() == {"error": "cron entry name must not be empty"}
    assert client.get("/crons/g").json()["entries"][0]["name"] == "path"
    r = client.post("/crons/h/entries", json=entry("e", paused=True))
    assert r.status_code == 201
    assert list(r.json()) == ["name", "expression", "paused", "job", "next_enqueue_at"]
    r = client.post("/crons/h/entries", json=entry("e", "* * * * *"))
    assert (r.status_code, r.json()) == (
        409,
        {"error": "cron entry 'e' already exists in group 'h'"},
    )
    assert client.get("/crons/h/entries/e").json()["expression"] == "0 6 * * *"
    r = client.post("/crons/h,/entries", json=entry())
    assert r.json() == {"error": "cron group name must not contain ','"}


def test_a_unique_template_does_not_enqueue_twice_while_its_job_is_pending(client):
    """CRON-21: the second fire is a duplicate of the first job."""
    unique = {**JOB, "unique_key": "nightly", "unique_while": "active"}
    r = client.put(
        "/crons/g", json={"entries": [entry("u", "* * * * * *", job=unique)]}
    )
    assert r.json()["entries"][0]["job"]["unique_while"] == "active"
    (first,) = wait_until(lambda: jobs(client))
    fired = client.get("/crons/g/entries/u").json()["last_enqueue_at"]
    wait_until(
        lambda: client.get("/crons/g/entries/u").json()["last_enqueue_at"] > fired
    )
    assert [j["id"] for j in jobs(client)] == [first["id"]]


def test_a_batch_template_is_dry_run_at_definition_time(client):
    """API.md 7.6.1: a 400 here, where an enqueue's is a 422."""
    bad = {"key": "b", "when": "true", "fold": "$new | .a + 1"}
    template = {**JOB, "payload": "text", "batch": bad}
    r = client.put("/crons/g", json={"entries": [entry(job=template)]})
    assert (r.status_code, r.json()) == (
        400,
        {"error": 'batch dry-run: fold: Cannot index string with string ("a")'},
    )
    bad = {"key": "b", "when": ".[", "fold": "$new"}
    r = client.post("/crons/g/entries", json=entry(job={**JOB, "batch": bad}))
    assert r.status_code == 400
    assert r.json()["error"].startswith("batch expression: when: syntax error")
    assert client.get("/crons").json() == {"crons": []}


def test_a_batch_template_folds_when_it_fires(client):
    """Each firing folds its payload into the key's pending job."""
    fold = "$existing | .runs += $new.runs"
    batch = {"key": "nightly", "when": "true", "fold": fold}
    template = {**JOB, "payload": {"runs": [1]}, "batch": batch}
    entries = [entry("b", "* * * * * *", job=template)]
    r = client.put("/crons/g", json={"entries": entries})
    assert r.status_code == 200, r.text
    assert r.json()["entries"][0]["job"]["batch"] == batch
    (first,) = wait_until(lambda: jobs(client))
    wait_until(
        lambda: len(client.get(f"/jobs/{first['id']}").json()["payload"]["runs"]) >= 2
    )
    assert [j["id"] for j in jobs(client)] == [first["id"]]
    assert first["batch"] == batch


def test_reset_wipes_cron_groups(client):
    """RESET-01."""
    client.put("/crons/g", json={"entries": [entry()]})
    assert client.post("/reset").status_code == 204
    assert client.get("/crons").json() == {"crons": []}


def test_groups_survive_kill_and_an_overdue_entry_fires_once(make_server, licence_args):
    """CRON-23: kill -9, a missed occurrence, one job on restart."""
    server = make_server(*licence_args)
    with server.client() as c:
        c.put(
            "/crons/g",
            json={
                "entries": [entry("slow", "*/3 * * * * *"), entry("later", "0 6 * * *")]
            },
        )
        c.patch("/crons/g/entries/later", json={"paused": True})
        before = c.get("/crons/g").json()
    server.kill()
    time.sleep(3.5)  # at least one occurrence of ``slow`` is missed
    restarted = time.time() * 1000
    server.start()
    assert server.wait_for_log("in-memory indexes rebuilt")["fields"]["cron"] == 2
    with server.client() as c:
        after = c.get("/crons/g").json()
        assert after["entries"][0] == before["entries"][0]  # ``later``, untouched

        def since_restart():  # ``slow`` may have fired once before the kill
            return [j for j in jobs(c) if j["ready_at"] >= restarted]

        (fired,) = wait_until(since_restart, timeout=5)
        slow = c.get("/crons/g/entries/slow").json()
        assert slow["last_enqueue_at"] == fired["ready_at"]
        assert slow["next_enqueue_at"] > slow["last_enqueue_at"]
        now_ms = time.time() * 1000
        assert len(since_restart()) == 1 or now_ms >= slow["next_enqueue_at"]


def test_fired_occurrences_survive_kill_and_none_fires_twice(
    make_server, licence_args
):
    """CRON-23: what passes wrote (fire records) is replayed after kill -9,
    over a change made after them: no fired occurrence fires again."""
    server = make_server(*licence_args)
    with server.client() as c:
        c.put(
            "/crons/g",
            json={"entries": [entry(name, "*/6 * * * * *") for name in ("a", "b")]},
        )
        (fired, _) = wait_until(lambda: len(jobs(c)) == 2 and jobs(c), timeout=8)
        c.patch("/crons/g/entries/b", json={"paused": True})
        before = c.get("/crons/g").json()["entries"]
    server.kill()
    server.start()
    with server.client() as c:
        after = c.get("/crons/g").json()["entries"]
        assert time.time() * 1000 < before[0]["next_enqueue_at"], "restart too slow"
        assert after == before
        assert after[0]["last_enqueue_at"] == fired["ready_at"]
        assert after[1]["paused"] is True
        assert len(jobs(c)) == 2


def test_nothing_fires_while_the_licence_has_lapsed_and_no_back_fill_after(
    make_server, issuer, tmp_path
):
    """ADMIN_AND_CLI.md 5.4: a lapsed licence idles the scheduler; a valid
    key loaded again fires what is due once, not every missed occurrence."""
    public_key = issuer.write_public_key(tmp_path / "issuer.pem")
    key_file = tmp_path / "licence.jwt"
    key_file.write_text(issuer.token(exp=int(time.time()) + 86_400))
    server = make_server(
        "-k",
        f"@{key_file}",
        "--license-public-key",
        public_key,
        "--license-key-check-interval",
        "100ms",
    )
    with server.client() as c:
        c.put("/crons/g", json={"entries": [entry("tick", "* * * * * *")]})
        wait_until(lambda: jobs(c))
        key_file.write_text(issuer.token(exp=int(time.time()) - 30))
        wait_until(lambda: c.get("/crons").status_code == 403)
        lapsed_at = time.time() * 1000
        time.sleep(2.5)  # two occurrences or more fall due meanwhile
        returned_at = time.time() * 1000
        key_file.write_text(issuer.token(exp=int(time.time()) + 86_400))
        wait_until(lambda: c.get("/crons").status_code == 200)
        before = len(jobs(c))
        wait_until(lambda: len(jobs(c)) > before)
        fired = sorted(j["ready_at"] for j in jobs(c))
    assert not [t for t in fired if lapsed_at + 200 < t < returned_at]
    seconds = [t // 1000 for t in fired]
    assert len(seconds) == len(set(seconds))  # one job an occurrence at most
