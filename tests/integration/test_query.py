"""Querying jobs: queues, list, count, get, error records (API.md 7.4, 6)."""

import time
from urllib.parse import quote

import msgpack
import pytest

from .jobs import HOUR, PARAMS_ERROR, now_ms, put
from .streams import TakeStream


def put_ids(client, count, **fields) -> list:
    return [put(client, **fields)["id"] for _ in range(count)]


def listed(client, query="", **params) -> list:
    """Ids of one ``GET /jobs`` page."""
    r = client.get("/jobs" + ("?" + query if query else ""), params=params or None)
    assert r.status_code == 200, r.text
    return [job["id"] for job in r.json()["jobs"]]


def counted(client, query="") -> int:
    r = client.get("/jobs/count" + ("?" + query if query else ""))
    assert r.status_code == 200, r.text
    return r.json()["count"]


def assert_400(response, message=None, prefix=None):
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    if message is not None:
        assert error == message
    if prefix is not None:
        assert error.startswith(prefix), error


def walk(client, link):
    """Follow ``next`` links from ``link``; returns (ids, pages)."""
    ids, pages = [], []
    while link is not None:
        r = client.get(link)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body)
        ids += [job["id"] for job in body["jobs"]]
        link = body["pages"]["next"]
    return ids, pages


def take(server, queue):
    """Open a stream on ``queue`` and read its first job."""
    stream = TakeStream(server.port, f"queue={queue}&prefetch=0")
    return stream.read_job(), stream


def fail_times(server, client, job_id, queue, times, **extra):
    """Take and fail a job ``times`` times; it ends up scheduled an hour out.

    Each failure reschedules far away and a ``ready_at: null`` patch makes
    the job ready again at once, so the same stream gets it back.
    """
    stream = TakeStream(server.port, f"queue={queue}&prefetch=0")
    responses = []
    for attempt in range(1, times + 1):
        job = stream.read_job()
        assert job["id"] == job_id and job["attempts"] == attempt - 1
        body = {"message": f"boom {attempt}", "retry_at": now_ms() + HOUR, **extra}
        r = client.post(f"/jobs/{job_id}/failure", json=body)
        assert r.status_code == 200, r.text
        responses.append((job, r.json()))
        if attempt < times:
            r = client.patch(f"/jobs/{job_id}", json={"ready_at": None})
            assert r.json()["status"] == "ready"
    stream.close()
    return responses


# --- GET /queues --------------------------------------------------------------


def test_queues_empty_store(client):
    r = client.get("/queues")
    assert r.status_code == 200
    assert r.json() == {"queues": []}


def test_queues_lists_distinct_sorted_names_of_every_status(server, client):
    put(client, "b")
    put(client, "b")
    put(client, "a", ready_at=now_ms() + HOUR)
    put(client, "Z")
    put(client, "é")
    job = put(client, "dead", retention={"dead_ms": HOUR})
    got, stream = take(server, "dead")
    client.post(f"/jobs/{job['id']}/failure", json={"message": "m", "kill": True})
    put(client, "done", retention={"completed_ms": HOUR})
    got, done_stream = take(server, "done")
    assert client.post(f"/jobs/{got['id']}/success").status_code == 204
    inflight = put(client, "busy")
    busy, busy_stream = take(server, "busy")
    assert busy["id"] == inflight["id"]
    r = client.get("/queues")
    assert r.headers["content-type"] == "application/json"
    # Byte order: upper case before lower case, UTF-8 multibyte last.
    assert r.json() == {"queues": ["Z", "a", "b", "busy", "dead", "done", "é"]}
    for s in (stream, done_stream, busy_stream):
        s.close()


def test_queue_disappears_once_it_has_no_jobs(client):
    ids = put_ids(client, 2, queue="gone")
    put(client, "kept")
    client.delete(f"/jobs/{ids[0]}")
    assert client.get("/queues").json()["queues"] == ["gone", "kept"]
    client.delete(f"/jobs/{ids[1]}")
    assert client.get("/queues").json()["queues"] == ["kept"]
    client.patch("/jobs?queue=kept", json={"queue": "moved"})
    assert client.get("/queues").json()["queues"] == ["moved"]


def test_queues_msgpack(client):
    put(client, "m")
    r = client.get("/queues", headers={"accept": "application/msgpack"})
    assert r.headers["content-type"] == "application/msgpack"
    assert msgpack.unpackb(r.content) == {"queues": ["m"]}


# --- GET /jobs/{id} ------------------------------------------------------------


def test_get_job_returns_it_with_payload(client):
    created = put(client, "example", "hello", {"greet": "World"}, priority=200)
    r = client.get(f"/jobs/{created['id']}")
    assert r.status_code == 200
    job = r.json()
    assert list(job) == ["id", "type", "queue", "priority", "status", "payload",
                         "ready_at", "attempts"]
    assert job["payload"] == {"greet": "World"}
    assert job["status"] == "ready" and job["priority"] == 200
    assert job["ready_at"] == created["ready_at"]


def test_get_job_null_payload_is_emitted(client):
    created = put(client, payload=None)
    r = client.get(f"/jobs/{created['id']}")
    assert b'"payload":null' in r.content


def test_get_job_unknown_or_malformed_is_404(client):
    for job_id in ("nonexistent", "0" * 25, "03FR1JKPCSIPBSCKQJ0Y6PGR7"):
        r = client.get(f"/jobs/{job_id}")
        assert r.status_code == 404
        assert r.json() == {"error": "job not found"}


def test_get_job_in_flight_shows_dequeued_at(server, client):
    created = put(client, "f")
    taken, stream = take(server, "f")
    job = client.get(f"/jobs/{created['id']}").json()
    assert job["status"] == "in_flight"
    assert job["dequeued_at"] == taken["dequeued_at"]
    stream.close()


def test_get_job_msgpack(client):
    created = put(client, payload={"k": [1, 2]})
    r = client.get(f"/jobs/{created['id']}", headers={"accept": "application/msgpack"})
    assert r.headers["content-type"] == "application/msgpack"
    job = msgpack.unpackb(r.content)
    assert job["id"] == created["id"] and job["payload"] == {"k": [1, 2]}


# --- GET /jobs: shape, order, limit -----------------------------------------------


def test_list_default_page(client):
    created = [put(client, payload={"n": n}) for n in range(3)]
    r = client.get("/jobs")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert list(body) == ["jobs", "pages"]
    assert body["pages"] == {"self": "/jobs?order=asc&limit=50", "next": None, "prev": None}
    assert [j["id"] for j in body["jobs"]] == [c["id"] for c in created]
    assert [j["payload"] for j in body["jobs"]] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert body["jobs"][0] == client.get(f"/jobs/{created[0]['id']}").json()


def test_list_empty_store(client):
    assert client.get("/jobs").json() == {
        "jobs": [], "pages": {"self": "/jobs?order=asc&limit=50", "next": None, "prev": None}
    }


def test_list_order_is_by_id_not_priority(client):
    ids = [put(client, priority=p)["id"] for p in (9, 1, 5)]
    assert listed(client) == ids
    assert listed(client, "order=asc") == ids
    r = client.get("/jobs?order=desc")
    assert [j["id"] for j in r.json()["jobs"]] == ids[::-1]
    assert r.json()["pages"]["self"] == "/jobs?order=desc&limit=50"


def test_list_bad_order_is_400(client):
    for order in ("sideways", "ASC", "", "1"):
        assert_400(client.get(f"/jobs?order={order}"), prefix=PARAMS_ERROR)


def test_list_limit_out_of_bounds_is_400(client):
    for limit in ("0", "2001", "5000"):
        r = client.get(f"/jobs?limit={limit}")
        assert_400(r, "limit must be between 1 and 2000")


def test_list_limit_not_a_number_is_400(client):
    for limit in ("abc", "-1", "1.5", ""):
        assert_400(client.get(f"/jobs?limit={limit}"), prefix=PARAMS_ERROR)


def test_list_limit_bounds_accepted(client):
    ids = put_ids(client, 3)
    r = client.get("/jobs?limit=2000")
    assert r.status_code == 200 and len(r.json()["jobs"]) == 3
    assert r.json()["pages"]["self"] == "/jobs?order=asc&limit=2000"
    r = client.get("/jobs?limit=1")
    assert [j["id"] for j in r.json()["jobs"]] == ids[:1]
    assert r.json()["pages"]["next"] == f"/jobs?from={ids[0]}&order=asc&limit=1"


def test_list_2000_jobs_in_one_page(client):
    jobs = [{"queue": "big", "type": "t", "payload": i} for i in range(2001)]
    assert client.post("/jobs/bulk", json={"jobs": jobs}).status_code == 201
    body = client.get("/jobs?limit=2000").json()
    assert [j["payload"] for j in body["jobs"]] == list(range(2000))
    assert body["pages"]["next"] is not None
    rest = client.get(body["pages"]["next"]).json()
    assert [j["payload"] for j in rest["jobs"]] == [2000]
    assert rest["pages"]["next"] is None


def test_unknown_parameter_is_400(client):
    for path in ("/jobs", "/jobs/count"):
        for query in ("foo=1", "status=ready&foo=", "Status=ready", "from_id=x"):
            assert_400(client.get(f"{path}?{query}"), prefix=PARAMS_ERROR)


def test_duplicate_parameter_is_400(client):
    cases = [("status", "ready"), ("queue", "a"), ("type", "t"), ("priority", "1"),
             ("attempts", "0"), ("ready_at", ".."), ("filter", "."), ("id", "")]
    for path in ("/jobs", "/jobs/count"):
        for name, value in cases:
            r = client.get(path, params=[(name, value), (name, value)])
            assert_400(r, prefix=PARAMS_ERROR)
            assert "duplicate field" in r.json()["error"], (path, name)


def test_list_duplicate_paging_parameters_are_400(client):
    for name, value in (("order", "asc"), ("limit", "5")):
        r = client.get("/jobs", params=[(name, value), (name, value)])
        assert_400(r, prefix=PARAMS_ERROR)


# --- Filters ----------------------------------------------------------------------


@pytest.fixture
def mixed(server, client):
    """Jobs in every live status plus a failed one and a retained dead one.

    Returns a dict of name -> id; streams are closed at teardown.
    """
    ids = {}
    ids["ready_email"] = put(client, "emails", "send_email", {"to": "a"})["id"]
    ids["ready_hook"] = put(client, "webhooks", "post_hook", {"to": "b"})["id"]
    ids["sched_email"] = put(client, "emails", "send_email", {"to": "c"},
                             ready_at=now_ms() + HOUR)["id"]
    ids["other"] = put(client, "other", "send_email", {"to": "d"})["id"]
    ids["busy"] = put(client, "busy", "send_email", {"to": "e"})["id"]
    busy, stream = take(server, "busy")
    assert busy["id"] == ids["busy"]
    ids["failed"] = put(client, "flaky", "post_hook", {"to": "f"})["id"]
    fail_times(server, client, ids["failed"], "flaky", 2)
    ids["dead"] = put(client, "grave", "post_hook", {"to": "g"})["id"]
    dead, grave = take(server, "grave")
    client.post(f"/jobs/{ids['dead']}/failure", json={"message": "m", "kill": True})
    grave.close()
    yield ids
    stream.close()


def check_list_and_count(client, query, expected):
    """``GET /jobs`` and ``GET /jobs/count`` both select exactly ``expected``."""
    assert listed(client, query) == sorted(expected), query
    assert counted(client, query) == len(expected), query


def test_status_filter(client, mixed):
    check_list_and_count(client, "status=ready,in_flight",
                         [mixed["ready_email"], mixed["ready_hook"], mixed["other"],
                          mixed["busy"]])
    check_list_and_count(client, "status=scheduled", [mixed["sched_email"], mixed["failed"]])
    check_list_and_count(client, "status=dead", [mixed["dead"]])
    check_list_and_count(client, "status=completed", [])
    check_list_and_count(client, "status=in_flight,in_flight,", [mixed["busy"]])


def test_empty_filter_values_are_no_filter(client, mixed):
    everything = list(mixed.values())
    for query in ("status=", "queue=", "type=", "id=", "status=,,", "queue=,",
                  "priority=", "ready_at=", "attempts=", "status=&queue=&type="):
        check_list_and_count(client, query, everything)
    r = client.get("/jobs?status=&queue=,&priority=")
    assert r.json()["pages"]["self"] == "/jobs?order=asc&limit=50"


def test_unknown_status_is_400(client):
    for value in ("bogus", "ready,bogus", "Ready", "in-flight"):
        for path in ("/jobs", "/jobs/count"):
            assert_400(client.get(f"{path}?status={value}"), prefix=PARAMS_ERROR)
    r = client.get("/jobs?status=bogus")
    assert "unknown status: bogus" in r.json()["error"]


def test_queue_filter_with_trailing_comma(client, mixed):
    check_list_and_count(client, "queue=emails,webhooks,",
                         [mixed["ready_email"], mixed["ready_hook"], mixed["sched_email"]])
    check_list_and_count(client, "queue=emails", [mixed["ready_email"], mixed["sched_email"]])
    check_list_and_count(client, "queue=nowhere", [])
    check_list_and_count(client, "queue=email", [])


def test_type_filter(client, mixed):
    check_list_and_count(client, "type=post_hook",
                         [mixed["ready_hook"], mixed["failed"], mixed["dead"]])
    check_list_and_count(client, "type=send_email,nothing",
                         [mixed["ready_email"], mixed["sched_email"], mixed["other"],
                          mixed["busy"]])


def test_id_filter(client, mixed):
    missing = "0" * 25
    wanted = [mixed["dead"], mixed["ready_email"], missing]
    check_list_and_count(client, "id=" + ",".join(wanted),
                         [mixed["ready_email"], mixed["dead"]])
    check_list_and_count(client, f"id={missing}", [])
    check_list_and_count(client, f"id={mixed['busy']},{mixed['busy']},", [mixed["busy"]])
    check_list_and_count(client, f"id={mixed['busy']}&status=ready", [])


def test_invalid_id_filter_is_400(client):
    cases = [
        ("xyz", '"xyz"'),
        ("03FR1JKPCSIPBSCKQJ0Y6PGR7", '"03FR1JKPCSIPBSCKQJ0Y6PGR7"'),
        ("03fr1jkpcsipbsckqj0y6pgr", '"03fr1jkpcsipbsckqj0y6pgr"'),
        ("03fr1jkpcsipbsckqj0y6pgr77", '"03fr1jkpcsipbsckqj0y6pgr77"'),
        ("a%22b", '"a\\"b"'),
    ]
    good = "0" * 25
    for path in ("/jobs", "/jobs/count"):
        for value, rendered in cases:
            r = client.get(f"{path}?id={good},{value}")
            assert_400(r, f"invalid job ID: {rendered}")


def test_combined_filters_intersect(client, mixed):
    check_list_and_count(client, "queue=emails,other&status=ready&type=send_email",
                         [mixed["ready_email"], mixed["other"]])
    check_list_and_count(client, "queue=emails&status=scheduled&type=post_hook", [])
    check_list_and_count(client, "type=post_hook&attempts=1..", [mixed["failed"], mixed["dead"]])
    check_list_and_count(client, 'type=post_hook&filter=.to == "b"', [mixed["ready_hook"]])


def test_attempts_ranges(client, mixed):
    failed, dead = mixed["failed"], mixed["dead"]
    never = [i for k, i in mixed.items() if k not in ("failed", "dead")]
    check_list_and_count(client, "attempts=0", never)
    check_list_and_count(client, "attempts=1..", [failed, dead])
    check_list_and_count(client, "attempts=2", [failed])
    check_list_and_count(client, "attempts=1", [dead])
    check_list_and_count(client, "attempts=..1", never + [dead])
    check_list_and_count(client, "attempts=1..2", [failed, dead])
    check_list_and_count(client, "attempts=3..", [])
    check_list_and_count(client, "attempts=..", list(mixed.values()))
    check_list_and_count(client, "attempts=4294967295", [])


@pytest.fixture
def prioritised(client):
    """One job per priority, in creation order; returns priority -> id."""
    return {p: put(client, priority=p)["id"] for p in (0, 99, 100, 150, 200, 201, 65535)}


def test_priority_ranges(client, prioritised):
    def ids(*priorities):
        return [prioritised[p] for p in priorities]

    check_list_and_count(client, "priority=100..200", ids(100, 150, 200))
    check_list_and_count(client, "priority=100..", ids(100, 150, 200, 201, 65535))
    check_list_and_count(client, "priority=..200", ids(0, 99, 100, 150, 200))
    check_list_and_count(client, "priority=150", ids(150))
    check_list_and_count(client, "priority=150..150", ids(150))
    check_list_and_count(client, "priority=..", list(prioritised.values()))
    check_list_and_count(client, "priority=0", ids(0))
    check_list_and_count(client, "priority=65535", ids(65535))
    check_list_and_count(client, "priority=..0", ids(0))
    check_list_and_count(client, "priority=65535..", ids(65535))
    check_list_and_count(client, "priority=151..199", [])


def test_inverted_range_is_400(client):
    for query in ("priority=200..100", "attempts=3..2", "ready_at=1000..999"):
        for path in ("/jobs", "/jobs/count"):
            r = client.get(f"{path}?{query}")
            assert_400(r, PARAMS_ERROR + "range lower bound exceeds upper bound")


def test_malformed_range_is_400(client):
    cases = [
        ("priority", "abc"), ("priority", "-1"), ("priority", "65536"), ("priority", "1..x"),
        ("priority", "-5..3"), ("priority", "1...3"), ("priority", "1..2..3"),
        ("attempts", "4294967296"), ("attempts", "a.."),
        ("ready_at", "18446744073709551616"), ("ready_at", "1.5"),
    ]
    for path in ("/jobs", "/jobs/count"):
        for param, value in cases:
            assert_400(client.get(f"{path}?{param}={value}"), prefix=PARAMS_ERROR)


def test_ready_at_ranges(client):
    base = now_ms() - HOUR
    ids = [put(client, ready_at=base + i * 1000)["id"] for i in range(4)]
    future = put(client, ready_at=now_ms() + HOUR)["id"]
    check_list_and_count(client, f"ready_at=..{base + 1000}", ids[:2])
    check_list_and_count(client, f"ready_at={base + 1000}..", ids[1:] + [future])
    check_list_and_count(client, f"ready_at={base + 1000}..{base + 2000}", ids[1:3])
    check_list_and_count(client, f"ready_at={base + 3000}", ids[3:])
    check_list_and_count(client, f"ready_at=..{now_ms()}", ids)
    check_list_and_count(client, f"ready_at={base + 1}..{base + 999}", [])
    check_list_and_count(client, "ready_at=..", ids + [future])
    check_list_and_count(client, f"ready_at={now_ms()}..&status=scheduled", [future])


def test_ranges_normalised_in_links(client):
    cases = [
        ("priority=100..200", "priority=100..200"),
        ("priority=0..200", "priority=..200"),
        ("priority=..200", "priority=..200"),
        ("priority=..", "priority=..65535"),
        ("priority=0..", "priority=..65535"),
        ("priority=5..65535", "priority=5.."),
        ("priority=5..", "priority=5.."),
        ("priority=7..7", "priority=7"),
        ("priority=0..0", "priority=0"),
        ("priority=65535..", "priority=65535"),
        ("attempts=..", "attempts=..4294967295"),
        ("attempts=1..", "attempts=1.."),
        ("attempts=0", "attempts=0"),
        ("ready_at=..", "ready_at=..18446744073709551615"),
        ("ready_at=5..", "ready_at=5.."),
        ("ready_at=5..18446744073709551615", "ready_at=5.."),
    ]
    for query, part in cases:
        r = client.get(f"/jobs?{query}")
        assert r.status_code == 200, (query, r.text)
        assert r.json()["pages"]["self"] == f"/jobs?order=asc&limit=50&{part}", query


# --- jq filter ----------------------------------------------------------------------


@pytest.fixture
def payloads(client):
    values = {
        "uni": {"greet": "Universe", "x": 7, "tags": ["urgent", "a"],
                "email": "u@example.com"},
        "world": {"greet": "World", "x": 2, "tags": ["a"], "email": "w@example.org"},
        "number": 42,
        "null": None,
        "string": "Uni",
        "list": [1, 2],
        "zero": {"x": 0},
    }
    return {name: put(client, payload=value)["id"] for name, value in values.items()}


JQ_CASES = [
    ('.greet | startswith("Uni")', ["uni"]),
    (".x == 1", []),
    (".x == 7", ["uni"]),
    (".x > 1", ["uni", "world"]),
    ("select(.x > 5)", ["uni"]),
    ('.tags | contains(["urgent"])', ["uni"]),
    ('.email | test("@example\\\\.com$")', ["uni"]),
    (". == 42", ["number"]),
    (". == null", ["null"]),
    (".x", ["uni", "world", "zero"]),
    ("true", ["uni", "world", "number", "null", "string", "list", "zero"]),
    ("false", []),
    ("null", []),
    ("empty", []),
    (".[0] == 1", ["list"]),
    ('startswith("U")', ["string"]),
]


def test_jq_filter_selects_payloads(client, payloads):
    for expression, names in JQ_CASES:
        query = "filter=" + quote(expression, safe="")
        check_list_and_count(client, query, [payloads[n] for n in names])


def test_jq_runtime_error_is_a_non_match(client, payloads):
    """``.x == 1`` indexes a number and a string: no error, no match."""
    for expression in (".x == 1", ".greet.deep == 1", ".[0] == 1 | not | not"):
        r = client.get("/jobs", params={"filter": expression})
        assert r.status_code == 200, r.text
    assert listed(client, filter=".x == 1") == []


def test_jq_compile_error_is_400(client, payloads):
    for expression in (".[*]", "", ".x ==", "select(", "}", "nosuchfn(1)"):
        for path in ("/jobs", "/jobs/count"):
            r = client.get(path, params={"filter": expression})
            assert_400(r, prefix="invalid filter: ")
            assert len(r.json()["error"]) > len("invalid filter: ")


def test_jq_filter_percent_encoded_in_links(client, payloads):
    r = client.get("/jobs", params={"filter": '.greet | startswith("Uni")', "limit": "1"})
    pages = r.json()["pages"]
    encoded = ".greet%20%7C%20startswith%28%22Uni%22%29"
    assert pages["self"] == f"/jobs?order=asc&limit=1&filter={encoded}"
    assert pages["next"] is None
    r = client.get("/jobs", params={"filter": "true", "limit": "2"})
    next_link = r.json()["pages"]["next"]
    assert next_link.endswith("&filter=true")
    # Every byte outside A-Z a-z 0-9 - _ . ~ is encoded, UTF-8 byte by byte.
    r = client.get("/jobs", params={"filter": '.greet == "é~_-." or .x >= 0'})
    assert r.status_code == 200
    assert r.json()["pages"]["self"].endswith(
        "&filter=.greet%20%3D%3D%20%22%C3%A9~_-.%22%20or%20.x%20%3E%3D%200"
    )


def test_jq_filter_link_round_trips(client, payloads):
    query = {"filter": '. == 42 or .greet == "World"', "limit": "1"}
    first = client.get("/jobs", params=query).json()
    ids, _ = walk(client, first["pages"]["next"])
    assert [first["jobs"][0]["id"]] + ids == [payloads["world"], payloads["number"]]


# --- Count -------------------------------------------------------------------------


def test_count_matches_list_lengths(client, mixed):
    for query in ("", "status=ready", "status=ready,scheduled", "queue=emails",
                  "type=post_hook", "attempts=1..", "priority=..", "queue=emails&type=x",
                  f"id={mixed['busy']}", "filter=.to%20%3D%3D%20%22a%22",
                  "status=dead&queue=grave"):
        assert counted(client, query) == len(listed(client, query)), query
    assert counted(client) == 7


def test_count_rejects_paging_parameters(client):
    for query in ("from=03fr1jkpcsipbsckqj0y6pgr7", "order=asc", "limit=5",
                  "status=ready&limit=5"):
        assert_400(client.get(f"/jobs/count?{query}"), prefix=PARAMS_ERROR)


def test_count_msgpack_and_list_msgpack(client):
    ids = put_ids(client, 3, queue="m")
    put(client, "n")
    headers = {"accept": "application/msgpack"}
    r = client.get("/jobs/count?queue=m", headers=headers)
    assert r.headers["content-type"] == "application/msgpack"
    assert msgpack.unpackb(r.content) == {"count": 3}
    r = client.get("/jobs?queue=m&limit=2", headers=headers)
    assert r.headers["content-type"] == "application/msgpack"
    body = msgpack.unpackb(r.content)
    assert [j["id"] for j in body["jobs"]] == ids[:2]
    assert body["jobs"][0]["payload"] is None and "payload" in body["jobs"][0]
    assert body["pages"] == {
        "self": "/jobs?order=asc&limit=2&queue=m",
        "next": f"/jobs?from={ids[1]}&order=asc&limit=2&queue=m",
        "prev": None,
    }
    r = client.get("/jobs?limit=0", headers=headers)
    assert r.status_code == 400
    assert msgpack.unpackb(r.content) == {"error": "limit must be between 1 and 2000"}


# --- Pagination ------------------------------------------------------------------------


def test_page_next_link(client):
    """PAGE-01, PAGE-02, PAGE-03."""
    ids = put_ids(client, 3)
    first = client.get("/jobs?limit=2").json()
    assert [j["id"] for j in first["jobs"]] == ids[:2]
    assert first["pages"] == {
        "self": "/jobs?order=asc&limit=2",
        "next": f"/jobs?from={ids[1]}&order=asc&limit=2",
        "prev": None,
    }
    second = client.get(first["pages"]["next"]).json()
    assert [j["id"] for j in second["jobs"]] == ids[2:]
    assert second["pages"] == {
        "self": f"/jobs?from={ids[1]}&order=asc&limit=2",
        "next": None,
        "prev": f"/jobs?from={ids[2]}&order=desc&limit=2",
    }
    back = client.get(second["pages"]["prev"]).json()
    assert [j["id"] for j in back["jobs"]] == ids[1::-1]
    assert back["pages"] == {
        "self": f"/jobs?from={ids[2]}&order=desc&limit=2",
        "next": None,
        "prev": f"/jobs?from={ids[1]}&order=asc&limit=2",
    }


def test_page_exact_fit_has_no_next(client):
    ids = put_ids(client, 4)
    first = client.get("/jobs?limit=2").json()
    second = client.get(first["pages"]["next"]).json()
    assert [j["id"] for j in second["jobs"]] == ids[2:]
    assert second["pages"]["next"] is None
    assert client.get("/jobs?limit=4").json()["pages"]["next"] is None
    assert client.get("/jobs?limit=3").json()["pages"]["next"] is not None


def test_page_filters_preserved_in_links(client):
    """PAGE-04 (the API.md 7.4.3 example)."""
    ids = put_ids(client, 3, queue="example")
    put(client, "elsewhere")
    put(client, "example", ready_at=now_ms() + HOUR)
    body = client.get("/jobs?queue=example&status=ready&limit=2").json()
    assert [j["id"] for j in body["jobs"]] == ids[:2]
    assert body["pages"] == {
        "self": "/jobs?order=asc&limit=2&status=ready&queue=example",
        "next": f"/jobs?from={ids[1]}&order=asc&limit=2&status=ready&queue=example",
        "prev": None,
    }
    second = client.get(body["pages"]["next"]).json()
    assert [j["id"] for j in second["jobs"]] == ids[2:]
    assert second["pages"]["prev"] == (
        f"/jobs?from={ids[2]}&order=desc&limit=2&status=ready&queue=example"
    )


def test_page_links_sort_and_deduplicate_lists(client):
    """PAGE-06: lists sorted (statuses in lifecycle order), components in fixed order."""
    a, b = sorted(put_ids(client, 2))
    query = ("filter=true&attempts=0&ready_at=..&priority=1..&id={b},{a},{b}&type=y,x,y"
             "&queue=b,a,B,&status=dead,ready,in_flight,scheduled,completed,ready"
             "&limit=3&order=desc&from=zzzzzzzzzzzzzzzzzzzzzzzzz").format(a=a, b=b)
    r = client.get(f"/jobs?{query}")
    assert r.status_code == 200, r.text
    assert r.json()["pages"]["self"] == (
        "/jobs?from=zzzzzzzzzzzzzzzzzzzzzzzzz&order=desc&limit=3"
        "&status=scheduled,ready,in_flight,completed,dead&queue=B,a,b&type=x,y"
        f"&id={a},{b}&priority=1..&ready_at=..18446744073709551615&attempts=0&filter=true"
    )


def test_page_links_write_names_raw(client):
    """Only ``filter`` is percent-encoded; queue and type names are written raw."""
    ids = [put(client, "é", "naïve")["id"] for _ in range(2)]
    r = client.get("/jobs?queue=%C3%A9&type=na%C3%AFve&limit=1")
    body = r.json()
    assert [j["id"] for j in body["jobs"]] == ids[:1]
    assert body["pages"]["next"] == f"/jobs?from={ids[0]}&order=asc&limit=1&queue=é&type=naïve"
    rest, _ = walk(client, body["pages"]["next"])
    assert rest == ids[1:]


def test_page_from_cursor_is_exclusive(client):
    """PAGE-08, in both orders, also from an id that is not a job."""
    ids = put_ids(client, 5)
    assert listed(client, f"from={ids[1]}") == ids[2:]
    assert listed(client, f"from={ids[1]}&order=desc") == ids[:1]
    assert listed(client, f"from={ids[4]}") == []
    assert listed(client, f"from={ids[0]}&order=desc") == []
    assert listed(client, "from=" + "0" * 25) == ids
    assert listed(client, "from=" + "z" * 25 + "&order=desc") == ids[::-1]
    assert listed(client, "from=" + "z" * 25) == []
    deleted = ids[2]
    client.delete(f"/jobs/{deleted}")
    assert listed(client, f"from={deleted}") == ids[3:]
    assert listed(client, f"from={deleted}&order=desc") == ids[1::-1]


def test_page_empty_page_with_cursor_has_no_prev(client):
    ids = put_ids(client, 2)
    body = client.get(f"/jobs?from={ids[1]}").json()
    assert body["jobs"] == []
    assert body["pages"] == {
        "self": f"/jobs?from={ids[1]}&order=asc&limit=50", "next": None, "prev": None,
    }


def test_page_desc_cursor(client):
    """PAGE-07."""
    ids = put_ids(client, 3)
    first = client.get("/jobs?order=desc&limit=2").json()
    assert [j["id"] for j in first["jobs"]] == [ids[2], ids[1]]
    assert first["pages"] == {
        "self": "/jobs?order=desc&limit=2",
        "next": f"/jobs?from={ids[1]}&order=desc&limit=2",
        "prev": None,
    }
    second = client.get(first["pages"]["next"]).json()
    assert [j["id"] for j in second["jobs"]] == [ids[0]]
    assert second["pages"] == {
        "self": f"/jobs?from={ids[1]}&order=desc&limit=2",
        "next": None,
        "prev": f"/jobs?from={ids[0]}&order=asc&limit=2",
    }
    forward = client.get(second["pages"]["prev"]).json()
    assert [j["id"] for j in forward["jobs"]] == ids[1:]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_page_walk_forward_then_backward_over_250_jobs(client, order):
    jobs = [{"queue": f"q{i % 3}", "type": "t", "payload": i} for i in range(250)]
    r = client.post("/jobs/bulk", json={"jobs": jobs})
    created = [j["id"] for j in r.json()["jobs"]]
    assert created == sorted(created)
    expected = created if order == "asc" else created[::-1]

    forward, pages = walk(client, f"/jobs?order={order}&limit=7")
    assert forward == expected
    assert len(pages) == 36
    assert all(len(p["jobs"]) == 7 for p in pages[:-1]) and len(pages[-1]["jobs"]) == 5
    assert pages[0]["pages"]["prev"] is None
    for page in pages[1:]:
        first = page["jobs"][0]["id"]
        flipped = "desc" if order == "asc" else "asc"
        assert page["pages"]["prev"] == f"/jobs?from={first}&order={flipped}&limit=7"
    for page, following in zip(pages, pages[1:]):
        assert page["pages"]["next"] == following["pages"]["self"]

    # Backward: the last page's prev, then onwards in the flipped order.
    last = pages[-1]
    backward, back_pages = walk(client, last["pages"]["prev"])
    seen = [j["id"] for j in last["jobs"]][::-1] + backward
    assert seen[::-1] == expected
    assert len(set(seen)) == 250
    assert back_pages[-1]["pages"]["next"] is None
    assert all(p["pages"]["prev"] is not None for p in back_pages)

    # Each page's prev link yields exactly the page before it, reversed.
    for before, page in zip(pages, pages[1:]):
        step = client.get(page["pages"]["prev"]).json()
        assert [j["id"] for j in step["jobs"]] == [j["id"] for j in before["jobs"]][::-1]


def test_page_walk_with_filters(client):
    jobs = [{"queue": f"q{i % 4}", "type": "t" if i % 5 else "five", "payload": {"i": i},
             "priority": i % 7} for i in range(120)]
    created = [j["id"] for j in client.post("/jobs/bulk", json={"jobs": jobs}).json()["jobs"]]
    expected = [created[i] for i in range(120)
                if i % 4 in (1, 2) and i % 5 and 2 <= i % 7 and i % 2 == 0]
    query = ("queue=q2,q1&type=t&priority=2..&filter=" + quote(".i % 2 == 0", safe="")
             + "&limit=4")
    ids, pages = walk(client, f"/jobs?{query}")
    assert ids == expected
    assert counted(client, "queue=q1,q2&type=t&priority=2..&filter="
                   + quote(".i % 2 == 0", safe="")) == len(expected)
    for page in pages:
        assert page["pages"]["self"].endswith(
            "&limit=4&queue=q1,q2&type=t&priority=2..&filter=.i%20%25%202%20%3D%3D%200"
        )
    desc, _ = walk(client, f"/jobs?{query}&order=desc")
    assert desc == expected[::-1]


def test_page_cursor_survives_concurrent_changes(client):
    ids = put_ids(client, 6)
    first = client.get("/jobs?limit=3").json()
    client.delete(f"/jobs/{ids[3]}")
    later = put(client)["id"]
    rest, _ = walk(client, first["pages"]["next"])
    assert rest == ids[4:] + [later]


# --- Error records -------------------------------------------------------------------


def test_errors_list_and_pages(server, client):
    """QRY-28 and the error-page link format (API.md 7.4.6)."""
    job_id = put(client, "err")["id"]
    failures = fail_times(server, client, job_id, "err", 3, error_type="E")
    base = f"/jobs/{job_id}/errors"
    body = client.get(base).json()
    assert [e["attempt"] for e in body["errors"]] == [1, 2, 3]
    assert body["pages"] == {"self": f"{base}?order=asc&limit=50", "next": None, "prev": None}
    for record, (taken, failed) in zip(body["errors"], failures):
        assert list(record) == ["attempt", "message", "error_type", "dequeued_at", "failed_at"]
        assert record["message"] == f"boom {record['attempt']}"
        assert record["error_type"] == "E"
        assert record["dequeued_at"] == taken["dequeued_at"]
        assert record["failed_at"] == failed["failed_at"]

    page1 = client.get(f"{base}?limit=2").json()
    assert [e["attempt"] for e in page1["errors"]] == [1, 2]
    assert page1["pages"] == {
        "self": f"{base}?order=asc&limit=2",
        "next": f"{base}?from=2&order=asc&limit=2",
        "prev": None,
    }
    page2 = client.get(page1["pages"]["next"]).json()
    assert [e["attempt"] for e in page2["errors"]] == [3]
    assert page2["pages"] == {
        "self": f"{base}?from=2&order=asc&limit=2",
        "next": None,
        "prev": f"{base}?from=3&order=desc&limit=2",
    }

    desc = client.get(f"{base}?order=desc").json()
    assert [e["attempt"] for e in desc["errors"]] == [3, 2, 1]
    assert desc["pages"]["self"] == f"{base}?order=desc&limit=50"
    desc1 = client.get(f"{base}?order=desc&limit=1").json()
    assert [e["attempt"] for e in desc1["errors"]] == [3]
    assert desc1["pages"] == {
        "self": f"{base}?order=desc&limit=1",
        "next": f"{base}?from=3&order=desc&limit=1",
        "prev": None,
    }
    single = client.get(f"{base}?limit=1").json()
    assert single["pages"]["next"] == f"{base}?from=1&order=asc&limit=1"
    assert [e["attempt"] for e in client.get(f"{base}?from=1").json()["errors"]] == [2, 3]
    assert client.get(f"{base}?from=3").json()["errors"] == []
    assert client.get(f"{base}?from=0&limit=1").json()["pages"]["prev"] == (
        f"{base}?from=1&order=desc&limit=1"
    )


def test_errors_desc_cursor_continues_downwards(server, client):
    """The intended semantics the spec asks re-implementations for (7.4.6)."""
    job_id = put(client, "err")["id"]
    fail_times(server, client, job_id, "err", 3)
    base = f"/jobs/{job_id}/errors"
    page1 = client.get(f"{base}?order=desc&limit=2").json()
    assert [e["attempt"] for e in page1["errors"]] == [3, 2]
    page2 = client.get(page1["pages"]["next"]).json()
    assert [e["attempt"] for e in page2["errors"]] == [1]
    assert page2["pages"]["next"] is None
    assert page2["pages"]["prev"] == f"{base}?from=1&order=asc&limit=2"
    back = client.get(f"{base}?from=3&order=desc&limit=2").json()
    assert [e["attempt"] for e in back["errors"]] == [2, 1]


def test_errors_of_a_job_without_failures(client):
    job_id = put(client)["id"]
    body = client.get(f"/jobs/{job_id}/errors").json()
    assert body == {"errors": [], "pages": {
        "self": f"/jobs/{job_id}/errors?order=asc&limit=50", "next": None, "prev": None,
    }}
    r = client.get(f"/jobs/{job_id}/errors/1")
    assert r.status_code == 404 and r.json() == {"error": "error record not found"}


def test_errors_record_without_optional_fields(server, client):
    job_id = put(client, "err")["id"]
    taken, stream = take(server, "err")
    client.post(f"/jobs/{job_id}/failure", json={"message": "plain", "kill": True})
    record = client.get(f"/jobs/{job_id}/errors/1").json()
    assert list(record) == ["attempt", "message", "dequeued_at", "failed_at"]
    assert record["message"] == "plain"
    listed_records = client.get(f"/jobs/{job_id}/errors").json()["errors"]
    assert listed_records == [record]
    stream.close()


def test_errors_params_validation(server, client):
    job_id = put(client)["id"]
    base = f"/jobs/{job_id}/errors"
    for limit in ("0", "2001"):
        assert_400(client.get(f"{base}?limit={limit}"), "limit must be between 1 and 2000")
    assert client.get(f"{base}?limit=2000").status_code == 200
    for query in ("limit=abc", "order=up", "from=abc", "from=-1", "foo=1", "status=ready",
                  "order=asc&order=asc"):
        assert_400(client.get(f"{base}?{query}"), prefix=PARAMS_ERROR)


def test_errors_unknown_job_is_404_after_limit_check(client):
    r = client.get("/jobs/nope/errors")
    assert r.status_code == 404 and r.json() == {"error": "job not found"}
    r = client.get(f"/jobs/{'0' * 25}/errors?order=desc")
    assert r.status_code == 404
    assert_400(client.get("/jobs/nope/errors?limit=0"), "limit must be between 1 and 2000")
    r = client.get("/jobs/nope/errors/1")
    assert r.status_code == 404 and r.json() == {"error": "job not found"}


def test_error_record_by_attempt(server, client):
    """QRY-27."""
    job_id = put(client, "err")["id"]
    fail_times(server, client, job_id, "err", 2, backtrace="bt")
    one = client.get(f"/jobs/{job_id}/errors/1").json()
    assert one["attempt"] == 1 and one["message"] == "boom 1" and one["backtrace"] == "bt"
    assert client.get(f"/jobs/{job_id}/errors/2").json()["message"] == "boom 2"
    for attempt in ("9", "0", "4294967295"):
        r = client.get(f"/jobs/{job_id}/errors/{attempt}")
        assert r.status_code == 404 and r.json() == {"error": "error record not found"}
    for attempt in ("x", "-1", "1.0", "4294967296"):
        assert client.get(f"/jobs/{job_id}/errors/{attempt}").status_code == 400
    r = client.get(f"/jobs/{job_id}/errors/1", headers={"accept": "application/msgpack"})
    assert msgpack.unpackb(r.content) == one


def test_errors_deleted_with_their_job(server, client):
    job_id = put(client, "err")["id"]
    fail_times(server, client, job_id, "err", 1)
    assert client.delete(f"/jobs/{job_id}").status_code == 204
    assert client.get(f"/jobs/{job_id}/errors").status_code == 404
    assert client.get(f"/jobs/{job_id}/errors/1").status_code == 404


# --- Visibility of expired retained jobs ------------------------------------------------


def test_expired_retained_jobs_invisible_but_deletable(make_server):
    server = make_server("--reaper-check-interval", "1h")
    with server.client() as client:
        done = put(client, "vis", "t", {"k": 1}, retention={"completed_ms": 300})["id"]
        taken, stream = take(server, "vis")
        assert client.post(f"/jobs/{done}/success").status_code == 204
        grave = put(client, "vis", "d", None, retention={"dead_ms": 300})["id"]
        taken = stream.read_job()
        client.post(f"/jobs/{grave}/failure", json={"message": "m", "kill": True})
        live = put(client, "vis", "t", {"k": 2}, ready_at=now_ms() + HOUR)["id"]

        assert listed(client, "queue=vis") == [done, grave, live]
        assert counted(client, "queue=vis") == 3
        assert counted(client, "status=completed") == 1
        assert client.get(f"/jobs/{done}").json()["status"] == "completed"
        purge_at = client.get(f"/jobs/{grave}").json()["purge_at"]
        while now_ms() <= purge_at + 20:
            time.sleep(0.05)

        for job_id in (done, grave):
            r = client.get(f"/jobs/{job_id}")
            assert r.status_code == 404 and r.json() == {"error": "job not found"}
            assert client.get(f"/jobs/{job_id}/errors").status_code == 404
        assert client.get(f"/jobs/{grave}/errors/1").status_code == 404
        assert listed(client) == [live]
        assert listed(client, "status=completed,dead") == []
        assert listed(client, f"id={done},{grave}") == []
        # Count has a counters path (status/queue only) and a scan path.
        for query in ("", "queue=vis", "status=completed", "status=dead",
                      "status=completed,dead,scheduled", "type=t,d", f"id={done},{grave}",
                      "attempts=..", "filter=true"):
            expected = len(listed(client, query))
            assert counted(client, query) == expected, query
        assert counted(client, "queue=vis") == 1
        assert counted(client, "type=t") == 1
        r = client.patch(f"/jobs/{done}", json={"priority": 1})
        assert r.status_code == 404

        # Bulk DELETE still sees the not-yet-reaped jobs.
        r = client.delete("/jobs?queue=vis&status=completed,dead")
        assert r.status_code == 200 and r.json() == {"deleted": 2}
        assert listed(client) == [live]
        stream.close()


def test_expired_job_still_deletable_by_id(make_server):
    server = make_server("--reaper-check-interval", "1h")
    with server.client() as client:
        job_id = put(client, "vis", retention={"completed_ms": 300})["id"]
        taken, stream = take(server, "vis")
        client.post(f"/jobs/{job_id}/success")
        time.sleep(0.4)
        assert client.get(f"/jobs/{job_id}").status_code == 404
        r = client.delete(f"/jobs/{job_id}")
        assert r.status_code == 204 and r.content == b""
        assert client.delete("/jobs").json() == {"deleted": 0}
        assert client.delete(f"/jobs/{job_id}").status_code == 404
        stream.close()
