"""``zizq serve`` stop signals and commit modes end to end (issue 3):
SIGTERM/SIGINT stop gracefully and requeue in-flight jobs; every answered
write survives SIGKILL in each commit mode (ADMIN_AND_CLI.md 2.2, 3.1,
FEATURES SRV-13, PERSIST-*).
"""

import concurrent.futures
import signal
import subprocess

import httpx
import pytest

from .streams import TakeStream
from .test_serve_config import (  # noqa: F401 - spawn is a fixture
    Zizq,
    enqueue,
    serve_args,
    spawn,
)

ORPHANS = "recovered orphaned in-flight jobs"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_stop_signal_requeues_in_flight_jobs(spawn, tmp_path, sig):
    root = tmp_path / "r"
    proc = spawn(*serve_args(root))
    with proc.client() as client:
        held = enqueue(client, queue="a")["id"]
        waiting = enqueue(client, queue="b")["id"]
        stream = TakeStream(proc.port, "queue=a")
        assert stream.read_job()["id"] == held
        assert client.get(f"/jobs/{held}").json()["status"] == "in_flight"
    assert proc.stop(sig) == 0
    assert proc.err[-1] == "Server stopped."
    # The stream was ended by the server, not cut.
    with pytest.raises(ConnectionError):
        stream.read_job(5)
    stream.close()
    assert proc.messages()[-1] == "server stopped"
    proc = spawn(*serve_args(root))
    rebuilt = proc.wait_for("in-memory indexes rebuilt")["fields"]
    assert rebuilt["ready"] == 2
    # Requeued at shutdown, so nothing was orphaned.
    assert ORPHANS not in proc.messages()
    with proc.client() as client:
        assert client.get(f"/jobs/{held}").json()["status"] == "ready"
        assert client.get(f"/jobs/{waiting}").json()["status"] == "ready"
        stream = TakeStream(proc.port, "queue=a")
        assert stream.read_job()["id"] == held
        stream.close()


def test_sigkill_leaves_orphans_that_the_restart_recovers(spawn, tmp_path):
    root = tmp_path / "r"
    proc = spawn(*serve_args(root))
    with proc.client() as client:
        held = enqueue(client)["id"]
        stream = TakeStream(proc.port)
        assert stream.read_job()["id"] == held
    proc.kill()
    stream.close()
    proc = spawn(*serve_args(root))
    assert proc.wait_for(ORPHANS)["fields"]["count"] == 1
    with proc.client() as client:
        assert client.get(f"/jobs/{held}").json()["status"] == "ready"


def test_sigkill_recovery_keeps_attempts_ready_at_and_dequeued_at(spawn, tmp_path):
    """In-flight jobs come back ``ready`` and otherwise as they were (API.md
    4.3), a retried one with its latest take's ``dequeued_at``, not the one
    its record kept from the first."""
    root = tmp_path / "r"
    proc = spawn(*serve_args(root))
    with proc.client() as client:
        once, twice = enqueue(client)["id"], enqueue(client)["id"]
        stream = TakeStream(proc.port, "prefetch=0")
        taken = {job["id"]: job for job in stream.read_jobs(2)}
        retry_at = taken[twice]["dequeued_at"] + 100
        r = client.post(f"/jobs/{twice}/failure", json={"message": "m", "retry_at": retry_at})
        assert r.status_code == 200, r.text
        assert stream.read_job()["id"] == twice
        before = {job_id: client.get(f"/jobs/{job_id}").json() for job_id in (once, twice)}
        # The in_flight entries' longer value still answers these filters.
        for field, bound in [("priority", before[once]["priority"]), ("ready_at", retry_at)]:
            params = {"status": "in_flight", field: f"..{bound}"}
            assert client.get("/jobs/count", params=params).json()["count"] == 2
            params[field] = f"{bound + 1}.."
            assert client.get("/jobs/count", params=params).json()["count"] == 0
    assert {job["status"] for job in before.values()} == {"in_flight"}
    assert before[twice]["attempts"] == 1 and before[twice]["dequeued_at"] >= retry_at
    proc.kill()
    stream.close()
    proc = spawn(*serve_args(root))
    assert proc.wait_for(ORPHANS)["fields"]["count"] == 2
    with proc.client() as client:
        for job_id, job in before.items():
            assert client.get(f"/jobs/{job_id}").json() == {**job, "status": "ready"}


def test_stop_signal_right_after_the_listening_line(tmp_path):
    # A supervisor may signal as soon as the server says it listens: the
    # stop must be graceful (exit 0, "Server stopped.") from that moment on.
    results = []
    for attempt in range(3):
        proc = Zizq(*serve_args(tmp_path / f"r{attempt}"))
        proc.proc = subprocess.Popen(
            proc.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=proc.env, cwd=proc.cwd, text=True,
        )
        try:
            for line in proc.proc.stdout:
                if '"primary API listening"' in line:
                    proc.proc.send_signal(signal.SIGTERM)
                    break
            code = proc.proc.wait(15)
            results.append((code, proc.proc.stderr.read().strip()))
        finally:
            proc.kill()
    assert results == [(0, "Server stopped.")] * 3


# --- commit modes ------------------------------------------------------------------------

COMMIT_MODES = [
    (("--default-commit-mode", "fsync"), {}),
    (("--enqueue-commit-mode", "fsync"), {}),
    ((), {"ZIZQ_DEFAULT_COMMIT_MODE": "fsync"}),
    ((), {"ZIZQ_ENQUEUE_COMMIT_MODE": "fsync"}),
    ((), {}),  # buffered by default
    (("--default-commit-mode", "buffered", "--enqueue-commit-mode", "buffered"), {}),
]
COMMIT_IDS = [
    "default-fsync", "enqueue-fsync", "env-default-fsync", "env-enqueue-fsync",
    "buffered-default", "buffered-flags",
]


@pytest.mark.parametrize("args, env", COMMIT_MODES, ids=COMMIT_IDS)
def test_answered_writes_survive_sigkill(spawn, tmp_path, args, env):
    root = tmp_path / "r"
    proc = spawn(*serve_args(root, *args), env=env)
    with proc.client() as client:
        ids = [enqueue(client, payload=i)["id"] for i in range(20)]
        bulk = client.post("/jobs/bulk", json={"jobs": [
            {"queue": "q", "type": "t", "payload": 100 + i} for i in range(20)
        ]})
        assert bulk.status_code == 201
        ids += [job["id"] for job in bulk.json()["jobs"]]
        # Acks and failures are writes too: take 5, ack 3, fail 2.
        stream = TakeStream(proc.port, "prefetch=5")
        taken = [job["id"] for job in stream.read_jobs(5)]
        for job_id in taken[:3]:
            assert client.post(f"/jobs/{job_id}/success").status_code == 204
        for job_id in taken[3:]:
            r = client.post(f"/jobs/{job_id}/failure", json={"message": "m"})
            assert r.status_code == 200
        last = enqueue(client, payload="last")["id"]
        proc.kill()  # SIGKILL right after the last answer
    stream.close()
    proc = spawn(*serve_args(root, *args), env=env)
    with proc.client() as client:
        for job_id in taken[:3]:
            assert client.get(f"/jobs/{job_id}").status_code == 404
        for job_id in taken[3:]:
            got = client.get(f"/jobs/{job_id}").json()
            assert got["status"] == "scheduled" and got["attempts"] == 1
            assert client.get(f"/jobs/{job_id}/errors/1").json()["message"] == "m"
        rest = [job_id for job_id in ids if job_id not in taken] + [last]
        statuses = {client.get(f"/jobs/{job_id}").json()["status"] for job_id in rest}
        assert statuses == {"ready"}
        assert client.get("/jobs/count").json()["count"] == len(rest) + 2


@pytest.mark.parametrize(
    "args", [("--enqueue-commit-mode", "fsync"), ()], ids=["enqueue-fsync", "buffered"]
)
def test_concurrent_enqueues_survive_sigkill(spawn, tmp_path, args):
    # Concurrent commits may share one fsync; every answered one is kept.
    root = tmp_path / "r"
    proc = spawn(*serve_args(root, *args))

    def produce(worker: int) -> list:
        with proc.client() as client:
            return [enqueue(client, payload=[worker, i])["id"] for i in range(15)]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answered = [i for ids in pool.map(produce, range(4)) for i in ids]
    proc.kill()
    proc = spawn(*serve_args(root, *args))
    with proc.client() as client:
        listed = client.get("/jobs", params={"limit": "100"}).json()["jobs"]
    assert sorted(job["id"] for job in listed) == sorted(answered)
    assert len(answered) == 60


def test_graceful_stop_then_restart_keeps_everything(spawn, tmp_path):
    root = tmp_path / "r"
    proc = spawn(*serve_args(root, "--default-completed-job-retention", "1h"))
    with proc.client() as client:
        ids = [enqueue(client, payload=i)["id"] for i in range(5)]
        stream = TakeStream(proc.port, "prefetch=2")
        done, held = (job["id"] for job in stream.read_jobs(2))
        assert client.post(f"/jobs/{done}/success").status_code == 204
    assert proc.stop(signal.SIGINT) == 0
    stream.close()
    proc = spawn(*serve_args(root))
    with proc.client() as client:
        assert client.get(f"/jobs/{done}").json()["status"] == "completed"
        assert client.get(f"/jobs/{held}").json()["status"] == "ready"
        assert client.get("/jobs/count").json()["count"] == 5
    assert ORPHANS not in proc.messages()
    assert set(ids) >= {done, held}
    assert httpx.get(f"{proc.url}/health").status_code == 200
