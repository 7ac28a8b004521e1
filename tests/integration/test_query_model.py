"""Model-based test of ``GET /jobs`` and ``GET /jobs/count`` (API.md 7.4).

Hypothesis builds a small store (queues, types, priorities, past and future
``ready_at``, payloads, jobs failed once or twice, killed, completed and
still in flight), then asks random filter queries. Walking every ``next``
link must return exactly the jobs a plain-Python model selects, in id
order, and the count must agree. One server serves the whole test; each
example starts with ``POST /reset``.
"""

from dataclasses import dataclass
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from .jobs import HOUR, now_ms
from .server import ServerProcess
from .streams import TakeStream

QUEUES = ["a", "b", "c"]
TYPES = ["x", "y"]
STATUSES = ["scheduled", "ready", "in_flight", "completed", "dead"]
ACTIONS = ["none", "none", "fail", "fail2", "inflight", "kill", "complete"]
STAGE = "_stage"  # plus a per-example suffix, so no closed stream can steal a job
MAX = {"priority": 65535, "ready_at": 2**64 - 1, "attempts": 2**32 - 1}
PRIORITIES = [0, 1, 2, 5, 100, 32768, 65535]


@pytest.fixture(scope="module")
def model_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("query-model") / "root"
    server = ServerProcess(str(root), ["--global-in-flight-limit", "0"]).start()
    state = {"server": server, "client": server.client(), "stream": None, "examples": 0}
    yield state
    if state["stream"] is not None:
        state["stream"].close()
    state["client"].close()
    server.kill()


# --- Strategies ---------------------------------------------------------------------

payloads = st.one_of(
    st.builds(lambda x: {"x": x}, st.integers(0, 9)),
    st.builds(lambda x: {"x": x, "y": "s"}, st.integers(0, 9)),
    st.sampled_from([42, None, {"y": 1}, "x", [1]]),
)

job_specs = st.fixed_dictionaries({
    "queue": st.sampled_from(QUEUES),
    "type": st.sampled_from(TYPES),
    "priority": st.sampled_from(PRIORITIES),
    "future": st.booleans(),
    "offset": st.integers(0, 4),
    "payload": payloads,
    "action": st.sampled_from(ACTIONS),
})


@dataclass
class Query:
    ids: list | None
    queues: list | None
    types: list | None
    statuses: list | None
    ranges: dict  # name -> (text, lo, hi)
    jq: tuple | None  # (expression, op, k)
    order: str
    limit: int
    trailing_comma: bool

    def string(self) -> str:
        parts = [f"order={self.order}", f"limit={self.limit}"]
        comma = "," if self.trailing_comma else ""
        for name, values in (("id", self.ids), ("queue", self.queues),
                             ("type", self.types), ("status", self.statuses)):
            if values is not None:
                parts.append(f"{name}={','.join(values)}{comma if values else ''}")
        for name, (text, _, _) in self.ranges.items():
            parts.append(f"{name}={text}")
        if self.jq is not None:
            parts.append("filter=" + quote(self.jq[0], safe=""))
        return "&".join(parts)

    def count_string(self) -> str:
        return "&".join(p for p in self.string().split("&")
                        if not p.startswith(("order=", "limit=")))

    def expected_self(self) -> str:
        """The normalised link API.md 7.4.3 describes."""
        parts = [f"order={self.order}", f"limit={self.limit}"]
        if self.statuses:
            parts.append("status=" + ",".join(s for s in STATUSES if s in self.statuses))
        for name, values in (("queue", self.queues), ("type", self.types),
                             ("id", self.ids)):
            if values:
                parts.append(f"{name}={','.join(sorted(set(values)))}")
        for name in ("priority", "ready_at", "attempts"):
            if name in self.ranges:
                _, lo, hi = self.ranges[name]
                if lo == hi:
                    text = str(lo)
                elif lo == 0:
                    text = f"..{hi}"
                elif hi == MAX[name]:
                    text = f"{lo}.."
                else:
                    text = f"{lo}..{hi}"
                parts.append(f"{name}={text}")
        if self.jq is not None:
            parts.append("filter=" + quote(self.jq[0], safe=""))
        return "/jobs?" + "&".join(parts)

    def matches(self, job: dict) -> bool:
        if self.ids and job["id"] not in self.ids:
            return False
        for name, values in (("queue", self.queues), ("type", self.types),
                             ("status", self.statuses)):
            if values and job[name] not in values:
                return False
        for name, (_, lo, hi) in self.ranges.items():
            if not lo <= job[name] <= hi:
                return False
        if self.jq is not None:
            _, op, k = self.jq
            payload = job["payload"]
            # jq: ``.x`` of an object without x is null, and null sorts
            # below every number; indexing a number, string or array fails,
            # which is a non-match.
            if payload is None or isinstance(payload, dict):
                x = None if payload is None else payload.get("x")
                if x is None:
                    return False
                return x > k if op == ">" else x == k
            return False
        return True


@st.composite
def ranges(draw, name, values):
    """One range parameter in any of its shapes, with its bounds."""
    maximum = MAX[name]
    points = sorted(set(values))
    a, b = sorted([draw(st.sampled_from(points)), draw(st.sampled_from(points))])
    shape = draw(st.sampled_from(["exact", "both", "upto", "from", "all", "zero_from"]))
    if shape == "exact":
        return str(a), a, a
    if shape == "both":
        return f"{a}..{b}", a, b
    if shape == "upto":
        return f"..{b}", 0, b
    if shape == "from":
        return f"{a}..", a, maximum
    if shape == "zero_from":
        return f"0..{b}", 0, b
    return "..", 0, maximum


@st.composite
def queries(draw, jobs):
    def sometimes() -> bool:
        """About one query in three filters on a given field, so most match."""
        return draw(st.integers(0, 2)) == 0

    def maybe_list(options):
        if not sometimes():
            return None
        return draw(st.lists(st.sampled_from(options), max_size=3))

    ids = None
    if jobs and sometimes() and draw(st.booleans()):
        ids = draw(st.lists(st.sampled_from([j["id"] for j in jobs] + ["0" * 25]),
                            min_size=1, max_size=4))
    chosen = {}
    if sometimes():
        chosen["priority"] = draw(ranges("priority", PRIORITIES + [3, 40000]))
    if sometimes():
        points = [0, 1, 2, 3]
        chosen["attempts"] = draw(ranges("attempts", points))
    if jobs and sometimes():
        points = [j["ready_at"] + d for j in jobs for d in (-1, 0, 1)] + [now_ms()]
        chosen["ready_at"] = draw(ranges("ready_at", points))
    jq = None
    if sometimes():
        op = draw(st.sampled_from([">", "=="]))
        k = draw(st.integers(-1, 9))
        jq = (f".x {op} {k}", op, k)
    return Query(
        ids=ids,
        queues=maybe_list(QUEUES + ["zz"]),
        types=maybe_list(TYPES + ["w"]),
        statuses=maybe_list(STATUSES),
        ranges=chosen,
        jq=jq,
        order=draw(st.sampled_from(["asc", "desc"])),
        limit=draw(st.integers(1, 5)),
        trailing_comma=draw(st.booleans()),
    )


# --- Building the store ---------------------------------------------------------------


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def state_of(response_job: dict) -> dict:
    keys = ("id", "type", "queue", "priority", "status", "ready_at", "attempts")
    return {k: response_job[k] for k in keys}


def build(client, stream, stage, specs) -> list:
    """Create the jobs; returns the model: one dict per job with its payload."""
    base = now_ms()
    model = []
    for spec in specs:
        past = base - 60_000 - spec["offset"] * 1000
        future = base + HOUR + spec["offset"] * 1000
        body = {"type": spec["type"], "priority": spec["priority"],
                "payload": spec["payload"]}
        action = spec["action"]
        if action == "none":
            body.update(queue=spec["queue"], ready_at=future if spec["future"] else past)
            job = state_of(ok(client.post("/jobs", json=body), 201))
        else:
            # Staged: taken from a queue nobody else uses, then moved home.
            if action == "complete":
                body["retention"] = {"completed_ms": HOUR}
            body.update(queue=stage, ready_at=past)
            job_id = ok(client.post("/jobs", json=body), 201)["id"]
            taken = stream.read_job()
            assert taken["id"] == job_id
            home = {"queue": spec["queue"]}
            if action in ("fail", "fail2"):
                message = {"message": "m", "retry_at": future}
                if action == "fail2":
                    ok(client.post(f"/jobs/{job_id}/failure", json=message))
                    ok(client.patch(f"/jobs/{job_id}", json={"ready_at": None}))
                    assert stream.read_job()["id"] == job_id
                ok(client.post(f"/jobs/{job_id}/failure", json=message))
                if not spec["future"]:
                    home["ready_at"] = past
                job = state_of(ok(client.patch(f"/jobs/{job_id}", json=home)))
            elif action == "inflight":
                job = state_of(ok(client.patch(f"/jobs/{job_id}", json=home)))
            elif action == "kill":
                ok(client.patch(f"/jobs/{job_id}", json=home))
                killed = {"message": "m", "kill": True}
                job = state_of(ok(client.post(f"/jobs/{job_id}/failure", json=killed)))
            else:
                job = state_of(ok(client.patch(f"/jobs/{job_id}", json=home)))
                ok(client.post(f"/jobs/{job_id}/success"), 204)
                job["status"] = "completed"
        job["payload"] = spec["payload"]
        model.append(job)
    return model


def check_stored(client, model) -> None:
    for job in model:
        stored = ok(client.get(f"/jobs/{job['id']}"))
        assert {k: stored[k] for k in job} == job


def walk(client, query: Query) -> list:
    """Every job reached from the first page through ``next`` links."""
    first = client.get("/jobs?" + query.string())
    body = ok(first)
    assert body["pages"]["self"] == query.expected_self()
    assert body["pages"]["prev"] is None
    jobs = []
    while True:
        page = body["jobs"]
        jobs += page
        assert len(page) <= query.limit
        link = body["pages"]["next"]
        if link is None:
            return jobs
        assert len(page) == query.limit, "a page before the last one is short"
        assert len(jobs) <= 100, "pagination does not terminate"
        body = ok(client.get(link))
        assert body["pages"]["self"] == link
        assert body["jobs"] == [] or body["pages"]["prev"] is not None


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(specs=st.lists(job_specs, min_size=3, max_size=12), data=st.data())
def test_list_and_count_match_model(model_server, specs, data):
    client = model_server["client"]
    assert client.post("/reset").status_code == 204
    if model_server["stream"] is not None:
        model_server["stream"].close()
    model_server["examples"] += 1
    stage = f"{STAGE}{model_server['examples']}"
    stream = TakeStream(model_server["server"].port, f"queue={stage}&prefetch=0")
    model_server["stream"] = stream

    model = build(client, stream, stage, specs)
    check_stored(client, model)
    by_id = {job["id"]: job for job in model}

    for query in data.draw(st.lists(queries(model), min_size=1, max_size=4)):
        expected = sorted((j["id"] for j in model if query.matches(j)),
                          reverse=query.order == "desc")
        event("matches: " + ("0" if not expected else "1-4" if len(expected) < 5 else "5+"))
        got = walk(client, query)
        assert [j["id"] for j in got] == expected, query.string()
        for job in got:
            assert {k: job[k] for k in by_id[job["id"]]} == by_id[job["id"]]
        r = client.get("/jobs/count" + ("?" + query.count_string()
                                        if query.count_string() else ""))
        assert ok(r) == {"count": len(expected)}, query.count_string()
