"""Online backup, restore and compaction against real ``zizq serve`` processes.

ADMIN_AND_CLI.md 6.1, 6.2, 8, 9, 10; FEATURES.md BAK-01..07. The backup is
taken while producers enqueue and a worker takes, acks and fails jobs; the
restored root is served and checked job by job.
"""

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from .server import ROOT, zizq_command
from .streams import TakeStream

PRODUCERS = 16
STATUSES = ("ready", "in_flight", "scheduled", "completed", "dead")


def zizq(*args, env=None, timeout=120):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZIZQ_")}
    environment.update(PYTHONPATH=ROOT, **(env or {}))
    return subprocess.run(
        zizq_command(*args),
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Traffic:
    """Producers that enqueue singles and one worker that acks and fails."""

    def __init__(self, server) -> None:
        self.server = server
        self.stop = threading.Event()
        self.acknowledged = []  # (monotonic time of the 201, job id, payload)
        self.errors = []
        self.threads = [
            threading.Thread(target=self._produce, args=(n,)) for n in range(PRODUCERS)
        ]
        self.threads.append(threading.Thread(target=self._work))

    def __enter__(self) -> "Traffic":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        assert not self.errors, self.errors[:3]

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.acknowledged) >= count, self.errors[:3]

    def _produce(self, producer: int) -> None:
        with self.server.client() as client:
            n = 0
            while not self.stop.is_set():
                payload = {"producer": producer, "n": n, "pad": "x" * (n % 50)}
                body = {"queue": f"q{producer % 4}", "type": "t", "payload": payload}
                if n % 7 == 0:
                    body["ready_at"] = int(time.time() * 1000) + 3_600_000
                try:
                    response = client.post("/jobs", json=body)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                    return
                if response.status_code != 201:
                    self.errors.append(response.text)
                    return
                self.acknowledged.append(
                    (time.monotonic(), response.json()["id"], payload)
                )
                n += 1

    def _work(self) -> None:
        stream = TakeStream(self.server.port, "prefetch=8")
        try:
            with self.server.client() as client:
                handled = 0
                while not self.stop.is_set():
                    try:
                        job = stream.read_job(0.5)
                    except TimeoutError:
                        continue
                    handled += 1
                    if handled % 3 == 0:
                        # Retried a day later: no job changes status while
                        # the restored copy is counted and listed.
                        failure = {
                            "message": f"boom {handled}",
                            "kill": handled % 2 == 0,
                            "retry_at": int(time.time() * 1000) + 86_400_000,
                        }
                        r = client.post(f"/jobs/{job['id']}/failure", json=failure)
                    else:
                        r = client.post(f"/jobs/{job['id']}/success")
                    if r.status_code not in (200, 204):
                        self.errors.append(r.text)
                        return
        except Exception as exc:  # a test thread reports, the test asserts
            self.errors.append(repr(exc))
        finally:
            stream.close()


def all_jobs(client) -> dict:
    """Every job the server lists, by id, following the pages."""
    jobs, cursor = {}, None
    while True:
        params = {"limit": 2000, **({"from": cursor} if cursor else {})}
        page = client.get("/jobs", params=params).json()
        jobs.update((job["id"], job) for job in page["jobs"])
        if not page["pages"]["next"]:
            return jobs
        cursor = page["jobs"][-1]["id"]


def test_backup_under_load_restores_every_acknowledged_job(make_server, tmp_path):
    server = make_server(
        "--default-completed-job-retention", "1d"
    )
    archive = tmp_path / "out" / "b.tar.gz"
    with Traffic(server) as traffic:
        traffic.wait_for(1500)
        began = time.monotonic()
        result = zizq("backup", "--url", server.admin_url, str(archive))
        traffic.wait_for(len(traffic.acknowledged) + 200)  # traffic went on
    assert result.returncode == 0, result.stderr
    before = [
        (job_id, payload) for at, job_id, payload in traffic.acknowledged if at < began
    ]
    assert not [n for n in os.listdir(server.root_dir) if n.startswith(".backup-")]

    restored = tmp_path / "restored"
    result = zizq("restore", "--root-dir", str(restored), str(archive))
    assert result.returncode == 0, result.stderr
    copy = make_server(root_dir=str(restored))
    with copy.client() as client:
        jobs = all_jobs(client)
        missing = [job_id for job_id, _ in before if job_id not in jobs]
        assert not missing, f"{len(missing)} acknowledged jobs missing"
        for job_id, payload in before:
            assert jobs[job_id]["payload"] == payload  # none torn
        counted = {}
        for status in STATUSES:
            r = client.get("/jobs/count", params={"status": status})
            counted[status] = r.json()["count"]
        listed = {
            s: sum(1 for j in jobs.values() if j["status"] == s) for s in STATUSES
        }
        assert counted == listed
        assert (
            sum(counted.values())
            == len(jobs)
            == client.get("/jobs/count").json()["count"]
        )
        assert counted["in_flight"] == 0  # taken jobs came back to ready
        assert counted["completed"] and counted["dead"] and counted["scheduled"]
        dead = next(j for j in jobs.values() if j["status"] == "dead")
        errors = client.get(f"/jobs/{dead['id']}/errors").json()
        assert errors["errors"][0]["message"].startswith("boom")


def test_backup_and_restore_commands_print_the_spec_lines(server, tmp_path):
    with server.client() as client:
        job = client.post(
            "/jobs", json={"queue": "q", "type": "t", "payload": [1]}
        ).json()
    archive = tmp_path / "out" / "deeper" / "b.tar.gz"
    result = zizq("backup", "--url", server.admin_url + "/", str(archive))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"Requesting backup from {server.admin_url}..."
    assert lines[1].startswith(f"Backup saved to {archive} (")
    assert lines[1].endswith(" KiB)") and len(lines) == 2
    assert result.stdout == ""
    assert [n for n in os.listdir(archive.parent)] == ["b.tar.gz"]  # no partial left

    restored = tmp_path / "new"
    result = zizq("restore", "--root-dir", str(restored), str(archive))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"Restoring from {archive} to {restored}...",
        "Restore complete.",
    ]
    copy = ServerOn(restored)
    with copy as client:
        assert client.get(f"/jobs/{job['id']}").json()["payload"] == [1]


class ServerOn:
    """A server on a restored root, for one ``with`` block (via make_server's
    helper class, stopped at the end)."""

    def __init__(self, root) -> None:
        from .server import ServerProcess

        self.process = ServerProcess(str(root))

    def __enter__(self) -> httpx.Client:
        self.process.start()
        self.client = self.process.client()
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.process.kill()


def test_backup_through_the_global_root_dir_and_env_url(server, tmp_path):
    """``ZIZQ_ADMIN_URL`` names the server; ``--root-dir`` before the command
    names the restore target."""
    archive = tmp_path / "b.tar.gz"
    result = zizq("backup", str(archive), env={"ZIZQ_ADMIN_URL": server.admin_url})
    assert result.returncode == 0, result.stderr
    result = zizq("--root-dir", str(tmp_path / "r"), "restore", str(archive))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r" / "data" / "CURRENT").exists()


def test_restore_refuses_a_non_empty_root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "x").write_text("keep")
    (tmp_path / "b.tar.gz").write_bytes(b"")
    result = zizq(
        "restore", "--root-dir", str(tmp_path / "root"), str(tmp_path / "b.tar.gz")
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: target directory {tmp_path / 'root'} is not empty — remove it "
        "first or use --root-dir to specify a different location\n"
    )


def test_restore_refuses_a_missing_archive(tmp_path):
    missing = tmp_path / "none.tar.gz"
    result = zizq("restore", "--root-dir", str(tmp_path / "root"), str(missing))
    assert (result.returncode, result.stderr) == (
        1,
        f"Error: backup file not found: {missing}\n",
    )
    assert not (tmp_path / "root").exists()


def test_restore_of_a_corrupt_archive_exits_1_and_leaves_nothing(tmp_path):
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(b"\x1f\x8b" + os.urandom(5000))
    result = zizq("restore", "--root-dir", str(tmp_path / "root"), str(archive))
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Restoring from {archive} to {tmp_path / 'root'}...\n"
    )
    assert result.stderr.splitlines()[-1].startswith(f"Error: {archive} is ")
    assert sorted(os.listdir(tmp_path)) == ["b.tar.gz"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", ["backup", "compact"])
def test_admin_commands_against_a_closed_port_exit_1(command, tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}"
    args = [str(tmp_path / "b.tar.gz")] if command == "backup" else []
    result = zizq(command, "--url", url, *args)
    assert result.returncode == 1
    verb = "backup" if command == "backup" else "compaction"
    first, error = result.stderr.splitlines()
    assert first == f"Requesting {verb} from {url}..."
    assert error.startswith(f"Error: {command} request failed: ")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize(
    "pair", [("--client-cert", "c.pem"), ("--client-key", "k.pem")]
)
@pytest.mark.parametrize("command", ["backup", "compact"])
def test_client_cert_without_key_is_refused(command, pair, tmp_path):
    args = [str(tmp_path / "f")] if command == "backup" else []
    result = zizq(command, *pair, *args)
    assert (result.returncode, result.stderr) == (
        1,
        "Error: --client-cert and --client-key must be provided together\n",
    )


def test_backup_http_error_is_reported_with_status_and_body(server, tmp_path):
    """A server answering non-2xx (here: the primary API, which has no
    /backup) gives ``HTTP <status>: <body>``."""
    result = zizq("backup", "--url", server.url, str(tmp_path / "b.tar.gz"))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        'Error: backup request failed: HTTP 404: {"error":"not found"}'
    )
    assert sorted(os.listdir(tmp_path)) == ["root0"]  # the server's, nothing else


def test_backup_command_without_filename_is_a_usage_error():
    result = zizq("backup")
    assert result.returncode == 2
    assert "FILENAME" in result.stderr


def test_backup_response_head(server):
    with httpx.Client(base_url=server.admin_url, timeout=30) as admin:
        with admin.stream("POST", "/backup") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/gzip"
            assert response.headers["content-disposition"] == (
                'attachment; filename="backup.tar.gz"'
            )
            assert response.headers["transfer-encoding"] == "chunked"
            assert response.read()[:2] == b"\x1f\x8b"
    record = server.wait_for_log("request")
    assert record["target"] == "zizq::api::admin"
    assert record["fields"]["path"] == "/backup"


def test_a_client_that_leaves_mid_backup_does_not_hurt_the_server(server):
    with server.client() as client:
        body = [{"queue": "q", "type": "t", "payload": "y" * 2000} for _ in range(500)]
        for _ in range(10):
            assert client.post("/jobs/bulk", json={"jobs": body}).status_code in (
                200,
                201,
            )
    sock = socket.create_connection(("127.0.0.1", server.admin_port))
    sock.sendall(b"POST /backup HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert sock.recv(100).startswith(b"HTTP/1.1 200")
    sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not [n for n in os.listdir(server.root_dir) if n.startswith(".backup-")]:
            break
        time.sleep(0.05)
    assert not [n for n in os.listdir(server.root_dir) if n.startswith(".backup-")]
    with server.client() as client:
        assert client.get("/jobs/count").json()["count"] == 5000


def test_compact_under_load_keeps_answering(server):
    with Traffic(server) as traffic:
        traffic.wait_for(300)
        result = zizq("compact", "--url", server.admin_url)
        during = len(traffic.acknowledged)
        traffic.wait_for(during + 200)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"Requesting compaction from {server.admin_url}...",
        "Compaction complete.",
    ]


def test_compact_route_answers_204(server):
    with httpx.Client(base_url=server.admin_url) as admin:
        response = admin.post("/compact")
    assert (response.status_code, response.content) == (204, b"")


@pytest.mark.parametrize(
    "method, path, headers",
    [
        ("GET", "/nope", {}),
        ("POST", "/backup/x", {}),
        ("GET", "/jobs", {"accept": "text/csv"}),
    ],
)
def test_other_admin_paths_are_404_with_an_empty_body(server, method, path, headers):
    with httpx.Client(base_url=server.admin_url) as admin:
        response = admin.request(method, path, headers=headers)
    assert (response.status_code, response.content) == (404, b"")


def test_manage_py_runs_the_same_commands(server, tmp_path):
    archive = tmp_path / "m.tar.gz"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZIZQ_")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "backup",
            "--url",
            server.admin_url,
            str(archive),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert archive.stat().st_size > 0


def test_a_backup_cut_by_a_crash_is_cleared_at_the_next_start(server):
    with server.client() as client:
        # Incompressible payloads: an archive too big for the socket buffers,
        # so the backup is still streaming (its checkpoint on disk) when
        # the server is killed.
        for _ in range(40):
            jobs = [
                {"queue": "q", "type": "t", "payload": os.urandom(2000).hex()}
                for _ in range(100)
            ]
            assert client.post("/jobs/bulk", json={"jobs": jobs}).status_code == 201
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.admin_port))
    sock.sendall(b"POST /backup HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert sock.recv(100).startswith(b"HTTP/1.1 200")
    left = [n for n in os.listdir(server.root_dir) if n.startswith(".backup-")]
    assert len(left) == 1
    server.kill()
    sock.close()
    assert os.path.isdir(os.path.join(server.root_dir, left[0]))
    server.start()
    record = server.wait_for_log("removed a backup checkpoint left by a crash")
    assert record["level"] == "INFO"
    assert record["fields"]["path"] == os.path.join(server.root_dir, left[0])
    assert not [n for n in os.listdir(server.root_dir) if n.startswith(".backup-")]
    with server.client() as client:
        assert client.get("/jobs/count").json()["count"] == 4000
