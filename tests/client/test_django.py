"""The django.tasks backend in a real Django project (tests/client/
django_project) against a real server: the jobs of one transaction go as
one bulk request at commit, a rollback sends nothing, and ``manage.py
zizq_worker`` runs the tasks; and ``@zizq.job`` declarations enqueued on
commit the same way."""

import json
import os
import signal
import subprocess
import sys

import pytest

import zizq_client as zizq

from .test_worker import ROOT, wait_until
from .workload import lines

pytestmark = pytest.mark.slow


def project_env(server, tmp_path) -> dict:
    return dict(
        os.environ,
        PYTHONPATH=ROOT,
        ZIZQ_URL=server.url,
        SHOP_DB=str(tmp_path / "shop.sqlite3"),
        DJANGO_SETTINGS_MODULE="tests.client.django_project.settings",
    )


def scenario(env: dict, *args) -> dict:
    command = [sys.executable, "-m", "tests.client.django_project.scenario", *args]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def requests(server) -> list:
    found = []
    for line in server.output:
        try:
            fields = json.loads(line).get("fields", {})
        except ValueError:
            continue
        if fields.get("message") == "request" and fields.get("path") != "/reset":
            found.append(f"{fields['method']} {fields['path']}")
    return found


def test_django_tasks_enqueue_on_commit_and_run_in_the_worker(zizq_server, tmp_path):
    client = zizq.Client(url=zizq_server.url)
    client.reset()
    env = project_env(zizq_server, tmp_path)
    path = str(tmp_path / "ran")
    before = len(requests(zizq_server))
    sent = scenario(env, "enqueue", path)
    assert sent["inside"] == ["", ""] and sent["enqueued_at"]
    wait_until(lambda: len(requests(zizq_server)) >= before + 2, what="request logs")
    assert requests(zizq_server)[before:] == ["POST /jobs/bulk", "POST /jobs"]
    jobs = {job.id: job for job in client.jobs}
    assert sorted(jobs) == sorted(sent["ids"])
    first, second, third = (jobs[i] for i in sent["ids"])
    assert (first.type, first.queue, first.priority) == (
        "tests.client.django_project.shop.tasks.fulfil",
        "default",
        29491,
    )
    assert (second.queue, second.payload["args"][1]) == ("mail", 1)
    worker = subprocess.Popen(
        [
            sys.executable,
            "tests/client/django_project/manage.py",
            "zizq_worker",
            "-q",
            "default,mail",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until(lambda: len(lines(path)) == 3, what="the tasks")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    assert sorted(lines(path)) == ["attempt 1", "fulfil a@b.c", "notify 1"]
    assert scenario(env, "result", first.id) == {"status": "missing"}
    failed = scenario(env, "result", third.id)
    assert failed["status"] == "READY" and failed["errors"] == ["builtins.ValueError"]
    assert "the warehouse is closed" in failed["traceback"]
    assert failed["task"] == "tests.client.django_project.shop.tasks.failing"


def test_declared_jobs_enqueue_on_commit_in_one_bulk_request(zizq_server, tmp_path):
    client = zizq.Client(url=zizq_server.url)
    client.reset()
    env = project_env(zizq_server, tmp_path)
    before = len(requests(zizq_server))
    sent = scenario(env, "native", str(tmp_path / "ran"))
    assert sent["inside"] == [None, None] and sent["dropped"] is None
    wait_until(lambda: len(requests(zizq_server)) >= before + 2, what="request logs")
    assert requests(zizq_server)[before:] == ["POST /jobs/bulk", "POST /jobs"]
    jobs = {job.id: job.payload["args"][1] for job in client.jobs}
    assert [jobs[i] for i in sent["ids"]] == [1, 2, 3] and len(jobs) == 3


def test_sync_jobs_run_between_close_old_connections(zizq_server, tmp_path):
    env = project_env(zizq_server, tmp_path)
    seen = scenario(env, "connections", "-")
    assert seen == {"opened": True, "fresh": [True], "closed_after": True}


def test_zizq_options_given_to_task_reach_the_job(zizq_server, tmp_path):
    client = zizq.Client(url=zizq_server.url)
    client.reset()
    sent = scenario(project_env(zizq_server, tmp_path), "options", "-")
    job = client.get(sent["id"])
    assert (job.queue, job.retry_limit) == ("mail", 2)
    assert job.retention == {"dead_ms": 86_400_000}
    assert job.backoff == {"exponent": 2.0, "base_ms": 1000, "jitter_ms": 0}
    one, two = sent["unique"]
    assert one["unique_while"] == "active"
    assert one["unique_key"] == two["unique_key"]
    type_name = "tests.client.django_project.shop.tasks.invoice"
    assert one["unique_key"].startswith(f"{type_name}:")
