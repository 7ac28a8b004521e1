"""A jq ``filter=`` can neither stall, crash nor spy on a real ``zizq serve``.

Each program here took main down or stalled every client before jq moved
into bounded worker processes (issue 16). Timeouts are generous bounds on
"did answer at all", never measurements.
"""

import os
import signal
import threading
import time

import httpx
import pytest

from .jobs import put

TIME_LIMIT = "filter exceeded the time limit of 1000 ms"
MEMORY_LIMIT = "filter exceeded the memory limit of 512 MiB"
RUNAWAYS = ["last(repeat(1))", "def f: f; f", "until(false; .)"]
GENEROUS_S = 60.0


@pytest.fixture
def client(server):
    """Patient: a runaway takes a second of a low-priority worker's CPU."""
    with httpx.Client(base_url=server.url, timeout=GENEROUS_S) as c:
        yield c


@pytest.fixture
def jobs(client):
    return [put(client, payload={"n": n})["id"] for n in range(5)]


def refused(response, message):
    assert response.status_code == 400, response.text
    assert response.json() == {"error": message}


def children(pid: int) -> list:
    pids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            pids += [int(child) for child in f.read().split()]
    return pids


def gone(pid: int, timeout: float = GENEROUS_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_health_answers_while_a_filter_runs_away(server, jobs):
    answers = {}

    def runaway():
        with httpx.Client(base_url=server.url, timeout=GENEROUS_S) as c:
            answers["count"] = c.get("/jobs/count", params={"filter": "def f: f; f"})

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.2)  # let the count reach the server first
    with httpx.Client(base_url=server.url, timeout=GENEROUS_S) as c:
        assert c.get("/health").status_code == 200
    thread.join(GENEROUS_S)
    refused(answers["count"], TIME_LIMIT)


@pytest.mark.parametrize("program", RUNAWAYS)
def test_a_runaway_filter_gets_the_time_limit(client, jobs, program):
    refused(client.get("/jobs/count", params={"filter": program}), TIME_LIMIT)
    assert client.get("/jobs/count", params={"filter": ".n >= 3"}).json() == {
        "count": 2
    }


@pytest.mark.parametrize(
    "program", ["null | .[536870000] = 1 | length > 0", '"a" * 1000000000 | length']
)
def test_a_filter_that_allocates_too_much_gets_the_memory_limit(
    server, client, jobs, program
):
    refused(client.get("/jobs", params={"filter": program}), MEMORY_LIMIT)
    assert server.proc.poll() is None
    assert client.get("/jobs/count", params={"filter": ".n == 1"}).json() == {
        "count": 1
    }


def test_bulk_patch_and_delete_with_a_runaway_filter_change_nothing(client, jobs):
    program = "if .n == 3 then last(repeat(1)) else true end"
    r = client.patch("/jobs", params={"filter": program}, json={"priority": 1})
    refused(r, TIME_LIMIT)
    refused(client.delete("/jobs", params={"filter": program}), TIME_LIMIT)
    assert client.get("/jobs/count", params={"priority": "1"}).json() == {"count": 0}
    assert client.get("/jobs/count").json() == {"count": len(jobs)}


def test_jq_sees_an_empty_environment(make_server):
    server = make_server(env={"LICENCE_SECRET": "hunter2"})
    with httpx.Client(base_url=server.url, timeout=GENEROUS_S) as client:
        put(client, payload=1)
        for program in (
            '$ENV.LICENCE_SECRET == "hunter2"',
            '$ENV | has("LICENCE_SECRET")',
            'env.LICENCE_SECRET == "hunter2"',
            "$ENV | length > 0",
            "env | length > 0",
        ):
            assert client.get("/jobs/count", params={"filter": program}).json() == {
                "count": 0
            }, program
        for program in ("$ENV == {}", "env == {}"):
            r = client.get("/jobs/count", params={"filter": program})
            assert r.json() == {"count": 1}, program


def _workers_of(server, client) -> list:
    """Make the server spawn its jq workers and return their pids."""
    put(client, payload=1)
    with httpx.Client(base_url=server.url, timeout=GENEROUS_S) as c:
        threads = [
            threading.Thread(
                target=c.get,
                args=("/jobs/count",),
                kwargs={"params": {"filter": "true"}},
            )
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    pids = children(server.proc.pid)
    assert pids
    return pids


def test_workers_stop_with_the_server(server, client):
    pids = _workers_of(server, client)
    assert server.stop() == 0
    assert all(gone(pid) for pid in pids)


def test_workers_exit_by_themselves_after_kill_9(server, client):
    pids = _workers_of(server, client)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(GENEROUS_S)
    assert all(gone(pid) for pid in pids)
