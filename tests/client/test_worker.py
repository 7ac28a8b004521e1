"""The worker against real servers: sync and async jobs under load with
failures, retries and kills, a SIGTERM drain that loses and repeats
nothing, and a server killed and restarted under a running worker."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

import zizq_client as zizq
from zizq_client.testing.server import ZizqServer
from zizq_client.worker import cli

from . import workload
from .workload import lines

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """A worker running in a thread of this process."""

    def __init__(self, **options) -> None:
        self.worker = zizq.Worker(handle_signals=False, **options)
        self.status = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.status = self.worker.run()

    def stop(self) -> int:
        wait_until(lambda: self.worker._loop is not None, what="worker loop")
        self.worker.stop()
        self.thread.join(30)
        return self.status


class Counting(zizq.Middleware):
    """Counts dispatches on each side and what they raised."""

    def __init__(self) -> None:
        self.seen = Counter()

    def dispatch(self, job, call_next):
        self.seen["sync"] += 1
        try:
            return call_next(job)
        except Exception:
            self.seen["sync raised"] += 1
            raise

    async def adispatch(self, job, call_next):
        self.seen["async"] += 1
        return await call_next(job)


def test_worker_runs_sync_and_async_jobs_with_failures(zizq_server, tmp_path):
    path = str(tmp_path / "ran")
    client = zizq.Client(url=zizq_server.url)
    client.reset()
    with zizq.bulk(client) as batch:
        for n in range(200):
            batch.add(workload.record, path, n)
            batch.add(workload.arecord, path, n)
        for n in range(3):
            batch.add(workload.flaky, path, n)
            batch.add(workload.retry_soon, path, n)
            batch.add(workload.kill_me, n)
            batch.add(workload.permanent, n)
    counting = Counting()
    running = Running(
        url=zizq_server.url,
        queues=["load"],
        concurrency=4,
        async_concurrency=20,
        middleware=[counting],
    )
    expected = 400 + 6
    wait_until(lambda: len(lines(path)) >= expected, what="every job to run")
    wait_until(lambda: client.count(status="dead") == 6, what="kills")
    assert running.stop() == 0
    seen = Counter(lines(path))
    assert all(seen[f"sync {n}"] == 1 and seen[f"async {n}"] == 1 for n in range(200))
    assert all(seen[f"flaky {n}"] == 1 and seen[f"retried {n}"] == 1 for n in range(3))
    assert sum(seen.values()) == expected
    # sync: 200 + 3 flaky and 3 retried twice each + 3 kills + 3 permanent
    assert counting.seen == {"async": 200, "sync": 218, "sync raised": 12}
    dead = list(client.jobs.filter(status="dead"))
    kinds = Counter(client.errors(job.id)[0].error_type for job in dead)
    assert kinds == {
        "zizq_client.context.Kill": 3,
        "tests.client.workload.PermanentError": 3,
    }
    [record] = client.errors(dead[0].id)
    assert "raise" in record.backtrace and record.message.startswith(("bad", "never"))
    assert client.count() == 6


def test_ruby_shaped_payload_runs_a_python_job_over_h2_and_json(zizq_server, tmp_path):
    path = str(tmp_path / "ran")
    client = zizq.Client(url=zizq_server.url, format="json")
    client.reset()
    client.enqueue_raw(
        queue="load",
        type="SendEmail",
        payload={"args": [path, "a@b.c"], "kwargs": {"template": "welcome"}},
    )
    running = Running(url=zizq_server.url, queues=["load"], format="json", http2=True)
    wait_until(lambda: lines(path), what="the job")
    assert running.stop() == 0
    assert lines(path) == ["email a@b.c welcome 0"]


def worker_process(url: str, *args) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "zizq_client.worker.cli",
        "tests.client.workload",
        "--url",
        url,
        "--log-level",
        "warning",
        *args,
    ]
    return subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))


def test_a_typed_payload_that_does_not_match_is_killed_by_the_worker(
    zizq_server, tmp_path
):
    path = str(tmp_path / "ran")
    client = zizq.Client(url=zizq_server.url)
    client.reset()
    workload.typed_note.using(client=client).enqueue(workload.Note(path, "typed ok"))
    bad = client.enqueue_raw(
        queue="typed", type=workload.typed_note.type_name, payload={"path": path}
    )
    running = Running(url=zizq_server.url, queues=["typed"])
    wait_until(lambda: lines(path) == ["typed ok"], what="the typed job")
    wait_until(lambda: client.count(status="dead") == 1, what="the kill")
    assert running.stop() == 0
    [record] = client.errors(bad.id)
    assert record.error_type == "zizq_client.errors.PayloadInvalid"
    assert record.message == "payload: missing field 'text'"


def test_sigterm_drains_running_jobs_and_requeues_the_rest(zizq_server, tmp_path):
    path = str(tmp_path / "ran")
    client = zizq.Client(url=zizq_server.url)
    client.reset()
    client.enqueue_bulk([workload.slow.params(path, n, 0.4) for n in range(30)])
    proc = worker_process(zizq_server.url, "-q", "slow", "-c", "3", "--prefetch", "8")
    wait_until(lambda: len(lines(path)) >= 3, what="jobs to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    first = lines(path)
    started = {line.split()[1] for line in first if line.startswith("start")}
    done = {line.split()[1] for line in first if line.startswith("done")}
    assert started == done and 3 <= len(done) < 30
    assert client.count(status="in_flight") == 0
    assert client.count() == 30 - len(done)
    proc = worker_process(zizq_server.url, "-q", "slow", "-c", "8", "--prefetch", "8")
    wait_until(lambda: client.count() == 0, what="the second worker")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    runs = Counter(line for line in lines(path) if line.startswith("done"))
    assert sorted(runs) == sorted(f"done {n}" for n in range(30))
    assert set(runs.values()) == {1}


def test_second_signal_stops_at_once_and_the_server_requeues(zizq_server, tmp_path):
    path = str(tmp_path / "ran")
    client = zizq.Client(url=zizq_server.url)
    client.reset()
    client.enqueue_bulk([workload.slow.params(path, n, 30) for n in range(2)])
    proc = worker_process(zizq_server.url, "-q", "slow", "-c", "2")
    wait_until(lambda: len(lines(path)) == 2, what="jobs to start")
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 1
    wait_until(lambda: client.count(status="ready") == 2, what="the requeue")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_worker_reconnects_after_the_server_is_killed(tmp_path):
    path = str(tmp_path / "ran")
    server = ZizqServer(str(tmp_path / "root"), port=free_port()).start()
    try:
        client = zizq.Client(url=server.url, timeout=2)
        client.enqueue_bulk([workload.slow.params(path, n, 0.01) for n in range(150)])
        running = Running(
            url=server.url,
            queues=["slow"],
            concurrency=2,
            retry=zizq.RetryDelays(min_wait=0.1, max_wait=0.5),
        )
        wait_until(lambda: len(lines(path)) >= 20, what="jobs to run")
        server.kill()
        server.start()
        wait_until(lambda: client.count() == 0, timeout=60, what="the rest")
        assert running.stop() == 0
        done = {line for line in lines(path) if line.startswith("done")}
        assert done == {f"done {n}" for n in range(150)}
    finally:
        server.stop()


def test_processes_share_the_work_and_drain_on_sigterm(zizq_server, tmp_path):
    path = str(tmp_path / "ran")
    client = zizq.Client(url=zizq_server.url)
    client.reset()
    client.enqueue_bulk([workload.whoami.params(path, n) for n in range(20)])
    proc = worker_process(
        zizq_server.url, "-q", "pids", "-c", "1", "--prefetch", "1", "--processes", "2"
    )
    wait_until(lambda: client.count() == 0, what="the jobs")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    ran = [line.split() for line in lines(path)]
    assert sorted(int(n) for n, _ in ran) == list(range(20))
    assert len({pid for _, pid in ran}) == 2


def test_worker_options_read_auto_prefetch_and_durations():
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    options = parser.parse_args(["--prefetch", "auto", "--shutdown-timeout", "2m"])
    worker = cli.worker_from(options)
    assert (worker.prefetch, worker.shutdown_timeout) == (120, 120.0)
    options = parser.parse_args(["--prefetch", "7", "--shutdown-timeout", "4.5"])
    worker = cli.worker_from(options)
    assert (worker.prefetch, worker.shutdown_timeout) == (7, 4.5)
