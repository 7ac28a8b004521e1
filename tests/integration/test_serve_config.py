"""``zizq serve`` configuration end to end (issue 3): flags, environment,
precedence (flag > env > default), value formats and start-up errors,
through a real subprocess (ADMIN_AND_CLI.md 1-3, FEATURES SRV-*).

The first part is a small harness that, unlike ``server.ServerProcess``,
runs exactly the command line it is given (so the defaults and the
environment are what is under test) in an environment without inherited
``ZIZQ_*`` variables. ``test_serve_logging`` and ``test_serve_durability``
import it.
"""

import concurrent.futures
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from .server import ROOT
from .streams import TakeStream

# --- harness -----------------------------------------------------------------

ENTRIES = {
    "cli": (sys.executable, "-m", "zizq_server.cli"),
    "manage": (sys.executable, os.path.join(ROOT, "manage.py")),
}
# The readiness probe; tests of the request log leave its records out.
PROBE = "/health?ready-probe"
_COMPACT_LISTENING = re.compile(r"\b(primary|admin) API listening\b.*?\baddr=(\S+)")


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (bind to 0, then close)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def refuses(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing accepts connections on ``host:port``."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return True
    return False


def zizq_env(env=None) -> dict:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZIZQ_") and k != "DJANGO_SETTINGS_MODULE"
    }
    environment["PYTHONPATH"] = ROOT
    environment.update(env or {})
    return environment


def run_zizq(*args, env=None, cwd=ROOT, entry="cli", timeout=30):
    """Run a command that is expected to exit by itself."""
    return subprocess.run(
        [*ENTRIES[entry], *args],
        env=zizq_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Zizq:
    """One ``zizq`` process started with exactly ``args``.

    ``out``/``err`` collect stdout/stderr lines as they arrive. The primary
    port is either known in advance (``start(port=...)``, readiness by
    polling ``GET /health``) or read from the primary listening line on
    stdout (JSON or compact); either way ``start`` returns once the server
    answers ``PROBE`` over HTTP.
    """

    def __init__(self, *args, env=None, cwd=ROOT, entry="cli") -> None:
        self.cmd = [*ENTRIES[entry], *args]
        self.env = zizq_env(env)
        self.cwd = cwd
        self.proc = None
        self.out: list[str] = []
        self.err: list[str] = []
        self.host = "127.0.0.1"
        self.port = self.admin_port = None
        self.addr = self.admin_addr = None
        self._listening = threading.Event()
        self._readers: list[threading.Thread] = []

    # -- process --

    def start(self, port=None, host="127.0.0.1", timeout=20.0) -> "Zizq":
        self.host = host
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            cwd=self.cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, True)),
            threading.Thread(target=self._read, args=(self.proc.stderr, False)),
        ]
        for reader in self._readers:
            reader.daemon = True
            reader.start()
        if port is None:
            self._listening.wait(timeout)
            if self.port is None:
                self.kill()
                raise RuntimeError(f"no primary listening line: {self.output()}")
        else:
            self.port = port
        # Answering HTTP means the reactor runs, so the stop signals are
        # handled (see test_serve_durability for the moment before that).
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.join()
                raise RuntimeError(f"server exited early: {self.output()}")
            try:
                if httpx.get(self.url + PROBE, timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server not healthy in {timeout}s: {self.output()}")

    def _read(self, pipe, is_stdout: bool) -> None:
        for raw in pipe:
            line = raw.rstrip("\n")
            (self.out if is_stdout else self.err).append(line)
            if is_stdout:
                self._scan(line)
        if is_stdout:
            self._listening.set()

    def _scan(self, line: str) -> None:
        try:
            record = json.loads(line)
            fields = record["fields"]
            api = fields.get("api") or fields["message"].split(" ")[0]
            addr = fields.get("addr")
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            match = _COMPACT_LISTENING.search(line)
            if not match:
                return
            api, addr = match.groups()
        if not addr:
            return
        port = int(addr.rsplit(":", 1)[1])
        if api == "admin" and self.admin_addr is None:
            self.admin_port, self.admin_addr = port, addr
        elif api == "primary" and self.addr is None:
            self.port, self.addr = port, addr
            self._listening.set()

    def join(self, timeout: float = 5.0) -> None:
        for reader in self._readers:
            reader.join(timeout)

    def stop(self, sig=signal.SIGTERM, timeout: float = 15.0) -> int:
        """Signal the server, wait for it and for all of its output."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self.join()
        return rc

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.join()

    # -- output --

    def output(self) -> str:
        return "\n".join(["stdout:", *self.out, "stderr:", *self.err])

    def records(self) -> list:
        """Every stdout line parsed as JSON (fails on any other line)."""
        return [json.loads(line) for line in self.out if line]

    def messages(self) -> list:
        return [r["fields"]["message"] for r in self.records()]

    def wait_for(self, message: str, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.out):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record["fields"]["message"] == message:
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no {message!r} record: {self.output()}")
            time.sleep(0.02)

    # -- clients --

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)


@pytest.fixture
def spawn():
    """``spawn(*args, env=, cwd=, entry=, port=, host=)`` starts a ``Zizq``;
    every one is killed at teardown."""
    procs = []

    def start(*args, env=None, cwd=ROOT, entry="cli", port=None, host="127.0.0.1"):
        proc = Zizq(*args, env=env, cwd=cwd, entry=entry)
        procs.append(proc)
        return proc.start(port=port, host=host)

    yield start
    for proc in procs:
        proc.kill()


def serve_args(root, *extra, log_format="json"):
    """``serve`` on ephemeral ports with JSON logs, plus ``extra``."""
    return (
        "serve", "--root-dir", str(root), "--port", "0", "--admin-port", "0",
        "--log-format", log_format, *extra,
    )


def enqueue(client, queue="q", **fields) -> dict:
    r = client.post("/jobs", json={"queue": queue, "type": "t", "payload": 1, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def take_one(proc, client, **fields):
    """Enqueue one job and take it on a fresh stream: (job, stream)."""
    job_id = enqueue(client, **fields)["id"]
    stream = TakeStream(proc.port, "prefetch=0")
    job = stream.read_job()
    assert job["id"] == job_id
    return job, stream


def heartbeat_gaps(port: int, count: int = 3) -> list:
    """Seconds between successive heartbeats on an idle NDJSON take stream."""
    stream = TakeStream(port, "queue=idle")
    try:
        assert stream.read_line(10) == b""
        times = [time.monotonic()]
        for _ in range(count):
            assert stream.read_line(10) == b""
            times.append(time.monotonic())
    finally:
        stream.close()
    return [b - a for a, b in zip(times, times[1:])]


def assert_usage_error(result, flag: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "usage:" in result.stderr and flag in result.stderr
    assert "Traceback" not in result.stderr


def assert_runtime_error(result, text: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors and text in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def run_many(cases, workers: int = 4) -> list:
    """``run_zizq`` for each ``(args, env)`` concurrently; results in order."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(run_zizq, *args, env=env) for args, env in cases]
        return [future.result() for future in futures]


def job_defaults(proc) -> dict:
    """What the server's job defaults did to four fresh jobs.

    ``retry_dead``: a plain job died on its first failure (retry limit 0);
    ``delay``: first-failure backoff of a job with its own retry limit;
    ``dead_ms``/``completed_ms``: ``purge_at`` minus the terminal time.
    """
    with proc.client() as client:
        plain, retried, killed, acked = (
            enqueue(client, queue=f"d{i}", **extra)["id"]
            for i, extra in enumerate(({}, {"retry_limit": 5}, {}, {}))
        )
        stream = TakeStream(proc.port, "prefetch=0")
        assert {job["id"] for job in stream.read_jobs(4)} == {
            plain, retried, killed, acked
        }
        failed = client.post(f"/jobs/{plain}/failure", json={"message": "m"}).json()
        backoff = client.post(f"/jobs/{retried}/failure", json={"message": "m"}).json()
        assert backoff["status"] == "scheduled", backoff
        dead = client.post(
            f"/jobs/{killed}/failure", json={"message": "m", "kill": True}
        ).json()
        assert client.post(f"/jobs/{acked}/success").status_code == 204
        completed = client.get(f"/jobs/{acked}").json()
        stream.close()
    return {
        "retry_dead": failed["status"] == "dead",
        "delay": backoff["ready_at"] - backoff["failed_at"],
        "dead_ms": dead["purge_at"] - dead["failed_at"],
        "completed_ms": completed["purge_at"] - completed["completed_at"],
    }


# --- the binary ----------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag(flag):
    result = run_zizq(flag)
    assert result.returncode == 0
    assert result.stdout == "zizq 0.6.1\n"


def test_bare_zizq_with_environment_only_serves(spawn, tmp_path):
    port = free_port()
    root = tmp_path / "env-root"
    proc = spawn(
        env={
            "ZIZQ_PORT": str(port),
            "ZIZQ_ADMIN_PORT": "0",
            "ZIZQ_ROOT_DIR": str(root),
            "ZIZQ_LOG_FORMAT": "json",
        },
        port=port,
    )
    assert proc.wait_for("store opened")["fields"]["root_dir"] == str(root)
    assert proc.addr == f"127.0.0.1:{port}"
    with proc.client() as client:
        job = enqueue(client)
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "ready"
    assert (root / "data").is_dir()
    assert proc.stop() == 0


def test_bare_zizq_accepts_the_global_root_dir_flag(spawn, tmp_path):
    # Superset of the real server (ADMIN_AND_CLI 1): global flags in bare form.
    root = tmp_path / "bare"
    proc = spawn(
        "--root-dir", str(root),
        env={"ZIZQ_PORT": "0", "ZIZQ_ADMIN_PORT": "0", "ZIZQ_LOG_FORMAT": "json"},
    )
    assert proc.wait_for("store opened")["fields"]["root_dir"] == str(root)
    assert (root / "data").is_dir()


def test_default_root_dir_is_zizq_root_in_the_working_directory(spawn, tmp_path):
    proc = spawn(
        "serve", "--port", "0", "--admin-port", "0", "--log-format", "json",
        cwd=str(tmp_path),
    )
    assert proc.wait_for("store opened")["fields"]["root_dir"] == "./zizq-root"
    assert (tmp_path / "zizq-root" / "data").is_dir()


@pytest.mark.parametrize("entry", ["cli", "manage"])
def test_both_entry_points_serve_alike(spawn, tmp_path, entry):
    proc = spawn(
        *serve_args(tmp_path / "r", "--default-completed-job-retention", "1h"),
        entry=entry,
    )
    assert proc.messages()[:5] == [
        "no license key provided, running in free tier",
        "store opened",
        "in-memory indexes rebuilt",
        "admin API listening",
        "primary API listening",
    ]
    with proc.client() as client:
        job, stream = take_one(proc, client)
        assert client.post(f"/jobs/{job['id']}/success").status_code == 204
        got = client.get(f"/jobs/{job['id']}").json()
        assert got["purge_at"] == got["completed_at"] + 3_600_000
        stream.close()
    assert httpx.get(f"http://127.0.0.1:{proc.admin_port}/health").status_code == 200
    assert proc.stop() == 0
    assert proc.err[-1] == "Server stopped."


@pytest.mark.parametrize("entry", ["cli", "manage"])
def test_both_entry_points_report_errors_alike(tmp_path, entry):
    root = tmp_path / "never"
    bad_flag = run_zizq("serve", "--root-dir", str(root), "--port", "x", entry=entry)
    assert_usage_error(bad_flag, "--port")
    bad_env = run_zizq(
        "serve", "--root-dir", str(root), env={"ZIZQ_PORT": "70000"}, entry=entry
    )
    assert_runtime_error(bad_env, "invalid value for ZIZQ_PORT")
    assert not root.exists()


# --- listeners -------------------------------------------------------------------


def test_port_flag_beats_environment(spawn, tmp_path):
    env_port, flag_port = free_port(), free_port()
    env = {"ZIZQ_PORT": str(env_port)}
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--admin-port", "0",
        "--port", str(flag_port), env=env, port=flag_port,
    )
    assert refuses(env_port)
    assert proc.stop() == 0
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--admin-port", "0",
        env=env, port=env_port,
    )
    assert refuses(flag_port)


def test_default_ports_are_7890_and_8901(tmp_path):
    # Never really served on (another server may want them): hold both
    # default ports and see which one each start-up fails to bind.
    holders = []
    try:
        for port in (7890, 8901):
            sock = socket.socket()
            holders.append(sock)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                pytest.skip(f"port {port} is in use on this machine")
            sock.listen()
        admin, primary = run_many(
            [
                (("serve", "--root-dir", str(tmp_path / "a")), None),
                (("serve", "--root-dir", str(tmp_path / "p"), "--no-admin"), None),
            ]
        )
    finally:
        for sock in holders:
            sock.close()
    assert_runtime_error(admin, "Address already in use (127.0.0.1:8901)")
    assert_runtime_error(primary, "Address already in use (127.0.0.1:7890)")


def _loopback_alias() -> str:
    try:
        free_port("127.0.0.2")
    except OSError:
        pytest.skip("127.0.0.2 is not bindable here")
    return "127.0.0.2"


def test_host_flag_beats_environment(spawn, tmp_path):
    alias = _loopback_alias()
    env = {"ZIZQ_HOST": alias}
    proc = spawn(*serve_args(tmp_path / "r", "--host", "127.0.0.1"), env=env)
    assert proc.addr == f"127.0.0.1:{proc.port}"
    assert refuses(proc.port, alias)
    assert proc.stop() == 0
    proc = spawn(*serve_args(tmp_path / "r"), env=env, host=alias)
    assert proc.addr == f"{alias}:{proc.port}"
    assert refuses(proc.port, "127.0.0.1")


def test_ipv6_host_in_brackets(spawn, tmp_path):
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    proc = spawn(*serve_args(tmp_path / "r", "--host", "[::1]"), host="[::1]")
    assert proc.addr == f"[::1]:{proc.port}"
    assert refuses(proc.port, "127.0.0.1")


def test_listening_addr_is_the_bound_ip_address(spawn, tmp_path):
    # ADMIN_AND_CLI 3.1: <addr> is the actually bound socket address. The
    # real server takes IP literals only; given a host name, the address
    # reported must still be the IP that was bound.
    proc = spawn(*serve_args(tmp_path / "r", "--host", "localhost"))
    host = proc.addr.rsplit(":", 1)[0].strip("[]")
    assert ipaddress.ip_address(host).is_loopback, proc.addr


def test_admin_port_and_host_flags_beat_environment(spawn, tmp_path):
    alias = _loopback_alias()
    env_port, flag_port = free_port(), free_port()
    env = {"ZIZQ_ADMIN_PORT": str(env_port), "ZIZQ_ADMIN_HOST": alias}
    proc = spawn(
        *serve_args(tmp_path / "r"),
        "--admin-port", str(flag_port), "--admin-host", "127.0.0.1", env=env,
    )
    assert proc.admin_addr == f"127.0.0.1:{flag_port}"
    assert httpx.get(f"http://127.0.0.1:{flag_port}/health").status_code == 200
    assert refuses(env_port) and refuses(env_port, alias)
    assert proc.stop() == 0
    # Without any admin flag (serve_args gives --admin-port 0).
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", "0",
        "--log-format", "json", env=env,
    )
    assert proc.admin_addr == f"{alias}:{env_port}"
    assert httpx.get(f"http://{alias}:{env_port}/health").status_code == 200


def test_admin_listener_is_a_separate_port_of_the_same_process(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r"))
    assert proc.admin_port != proc.port
    with httpx.Client(base_url=f"http://127.0.0.1:{proc.admin_port}") as admin:
        r = admin.get("/health")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        for path in ("/nope", "/jobs", "/queues", "/version"):
            r = admin.get(path)
            assert r.status_code == 404 and r.content == b"", path
    with proc.client() as client:
        assert client.get("/health").status_code == 200
        r = client.get("/nope")
        assert r.status_code == 404 and r.json() == {"error": "not found"}
    # One process owns both sockets: stopping it closes both.
    assert proc.stop() == 0
    assert refuses(proc.port) and refuses(proc.admin_port)


@pytest.mark.parametrize(
    "args, env",
    [
        (("--no-admin",), {"ZIZQ_NO_ADMIN": "false"}),
        ((), {"ZIZQ_NO_ADMIN": "true"}),
        ((), {"ZIZQ_NO_ADMIN": "1"}),
        ((), {"ZIZQ_NO_ADMIN": "yes"}),
        ((), {"ZIZQ_NO_ADMIN": "ON"}),
    ],
    ids=["flag-beats-env", "true", "1", "yes", "ON"],
)
def test_no_admin(spawn, tmp_path, args, env):
    admin_port = free_port()
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", "0",
        "--admin-port", str(admin_port), "--log-format", "json", *args, env=env,
    )
    assert "admin API listening" not in proc.messages()
    assert proc.admin_port is None
    assert refuses(admin_port)


@pytest.mark.parametrize("value", ["false", "off"])
def test_no_admin_false_spellings_keep_the_admin_api(spawn, tmp_path, value):
    proc = spawn(*serve_args(tmp_path / "r"), env={"ZIZQ_NO_ADMIN": value})
    assert proc.admin_port is not None
    assert httpx.get(f"http://127.0.0.1:{proc.admin_port}/health").status_code == 200


def test_no_admin_flag_takes_no_value(tmp_path):
    result = run_zizq("serve", "--root-dir", str(tmp_path / "never"), "--no-admin", "true")
    assert result.returncode == 2 and "usage:" in result.stderr
    assert not (tmp_path / "never").exists()


# --- root directory -----------------------------------------------------------------


def test_root_dir_flag_beats_environment_and_holds_the_data(spawn, tmp_path):
    env_root, flag_root = tmp_path / "env", tmp_path / "flag"
    env = {"ZIZQ_ROOT_DIR": str(env_root)}
    common = ("serve", "--port", "0", "--admin-port", "0", "--log-format", "json")
    proc = spawn(*common, "--root-dir", str(flag_root), env=env)
    assert proc.wait_for("store opened")["fields"]["root_dir"] == str(flag_root)
    with proc.client() as client:
        job_id = enqueue(client)["id"]
    assert proc.stop() == 0
    assert (flag_root / "data").is_dir() and not env_root.exists()
    # The environment's root is a different, empty database.
    proc = spawn(*common, env=env)
    assert proc.wait_for("store opened")["fields"]["root_dir"] == str(env_root)
    with proc.client() as client:
        assert client.get(f"/jobs/{job_id}").status_code == 404
    assert proc.stop() == 0
    # Back on the flag's root, the job is still there.
    proc = spawn(*common, "--root-dir", str(flag_root))
    with proc.client() as client:
        assert client.get(f"/jobs/{job_id}").json()["status"] == "ready"


# --- engine settings -------------------------------------------------------------------

JOB_ENV = {
    "ZIZQ_DEFAULT_RETRY_LIMIT": "0",
    "ZIZQ_DEFAULT_BACKOFF_BASE": "5s",
    "ZIZQ_DEFAULT_BACKOFF_EXPONENT": "1",
    "ZIZQ_DEFAULT_BACKOFF_JITTER": "0",
    "ZIZQ_DEFAULT_COMPLETED_JOB_RETENTION": "2h",
    "ZIZQ_DEFAULT_DEAD_JOB_RETENTION": "90d",
}
HOUR = 3_600_000
DAY = 24 * HOUR


@pytest.mark.parametrize(
    "args, env, expected",
    [
        (
            (
                "--default-retry-limit", "0",
                "--default-backoff-base", "3s",
                "--default-backoff-exponent", "2",
                "--default-backoff-jitter", "0",
                "--default-completed-job-retention", "1h",
                "--default-dead-job-retention", "90d",
            ),
            {},
            {"retry_dead": True, "delay": 4_000, "dead_ms": 90 * DAY,
             "completed_ms": HOUR},
        ),
        (
            (),
            JOB_ENV,
            {"retry_dead": True, "delay": 6_000, "dead_ms": 90 * DAY,
             "completed_ms": 2 * HOUR},
        ),
        (
            # The backoff triple is complete across flag + environment.
            (
                "--default-retry-limit", "1",
                "--default-backoff-base", "2s",
                "--default-completed-job-retention", "1h 30m",
                "--default-dead-job-retention", "3w",
            ),
            JOB_ENV,
            {"retry_dead": False, "delay": 3_000, "dead_ms": 21 * DAY,
             "completed_ms": 90 * 60_000},
        ),
    ],
    ids=["flags", "env", "flags-beat-env"],
)
def test_job_defaults_retry_backoff_retention(spawn, tmp_path, args, env, expected):
    proc = spawn(*serve_args(tmp_path / "r", *args), env=env)
    assert job_defaults(proc) == expected


def test_duration_formats(spawn, tmp_path):
    proc = spawn(
        *serve_args(
            tmp_path / "r",
            "--heartbeat-interval", "500",
            "--default-backoff-base", "1h 30m",
            "--default-backoff-exponent", "1",
            "--default-backoff-jitter", "0ms",
            "--default-completed-job-retention", "12.5s",
            "--default-dead-job-retention", "0.5s",
            "--reaper-check-interval", "500ms",
        )
    )
    assert job_defaults(proc) == {
        "retry_dead": False, "delay": 90 * 60_000 + 1_000, "dead_ms": 500,
        "completed_ms": 12_500,
    }
    gaps = heartbeat_gaps(proc.port, 2)
    assert all(0.4 <= gap <= 0.75 for gap in gaps), gaps


def test_heartbeat_interval_flag_beats_environment(spawn, tmp_path):
    env = {"ZIZQ_HEARTBEAT_INTERVAL": "600ms"}
    proc = spawn(*serve_args(tmp_path / "a", "--heartbeat-interval", "200ms"), env=env)
    gaps = heartbeat_gaps(proc.port)
    assert all(0.15 <= gap <= 0.4 for gap in gaps), gaps
    assert proc.stop() == 0
    proc = spawn(*serve_args(tmp_path / "b"), env=env)
    gaps = heartbeat_gaps(proc.port, 2)
    assert all(0.5 <= gap <= 0.9 for gap in gaps), gaps


@pytest.mark.parametrize(
    "args, env, limit",
    [
        (("-l", "1"), {"ZIZQ_GLOBAL_IN_FLIGHT_LIMIT": "2"}, 1),
        ((), {"ZIZQ_GLOBAL_IN_FLIGHT_LIMIT": "2"}, 2),
    ],
    ids=["flag-beats-env", "env"],
)
def test_global_in_flight_limit(spawn, tmp_path, args, env, limit):
    proc = spawn(*serve_args(tmp_path / "r", *args), env=env)
    with proc.client() as client:
        for _ in range(3):
            enqueue(client)
        # Two workers with prefetch 1 each: only the global limit holds
        # the second one back.
        first = TakeStream(proc.port)
        taken = [first.read_job()["id"]]
        second = TakeStream(proc.port)
        if limit == 2:
            taken.append(second.read_job()["id"])
        first.expect_no_job(0.3)
        second.expect_no_job(0.3)
        # Acking frees a slot (the first worker is then the only one left).
        second.close()
        time.sleep(0.1)
        assert client.post(f"/jobs/{taken[0]}/success").status_code == 204
        first.read_job()
        first.close()


def test_effectively_infinite_retention_does_not_crash(spawn, tmp_path):
    # ADMIN_AND_CLI 1.1: 90000000000y is "effectively infinite retention".
    proc = spawn(
        *serve_args(
            tmp_path / "r",
            "--default-completed-job-retention", "90000000000y",
            "--default-dead-job-retention", "90000000000y",
        )
    )
    with proc.client() as client:
        job, stream = take_one(proc, client)
        assert client.post(f"/jobs/{job['id']}/success").status_code == 204
        got = client.get(f"/jobs/{job['id']}").json()
        assert got["status"] == "completed"
        assert got["purge_at"] > got["completed_at"] + 10**15
        stream.close()
        job, stream = take_one(proc, client)
        r = client.post(f"/jobs/{job['id']}/failure", json={"message": "m", "kill": True})
        assert r.status_code == 200, r.text
        assert r.json()["purge_at"] > r.json()["failed_at"] + 10**15
        stream.close()
        assert len(client.get("/jobs").json()["jobs"]) == 2


def test_reaper_check_interval_flag_beats_environment(spawn, tmp_path):
    proc = spawn(
        *serve_args(tmp_path / "r", "--reaper-check-interval", "300ms"),
        env={"ZIZQ_REAPER_CHECK_INTERVAL": "1h"},
    )
    with proc.client() as client:
        job, stream = take_one(proc, client, queue="gone", retention={"completed_ms": 200})
        client.post(f"/jobs/{job['id']}/success")
        assert "gone" in client.get("/queues").json()["queues"]
        deadline = time.monotonic() + 3
        while "gone" in client.get("/queues").json()["queues"]:
            assert time.monotonic() < deadline, "reaper did not remove the job"
            time.sleep(0.1)
        stream.close()


@pytest.mark.parametrize(
    "args, env",
    [
        (("--default-commit-mode", "fsync", "--enqueue-commit-mode", "buffered"), {}),
        (
            ("--default-commit-mode", "buffered"),
            {"ZIZQ_DEFAULT_COMMIT_MODE": "fsync", "ZIZQ_ENQUEUE_COMMIT_MODE": "fsync"},
        ),
    ],
    ids=["flags", "flag-and-env"],
)
def test_commit_modes_accepted(spawn, tmp_path, args, env):
    # Durability per mode: test_serve_durability.
    proc = spawn(*serve_args(tmp_path / "r", *args), env=env)
    with proc.client() as client:
        job, stream = take_one(proc, client)
        assert client.post(f"/jobs/{job['id']}/success").status_code == 204
        stream.close()


@pytest.mark.parametrize(
    "args, env",
    [
        (("--cache-size", "500MB"), {}),
        (("--cache-size", "1GiB"), {"ZIZQ_CACHE_SIZE": "100MB"}),
        (("--cache-size", "268435456"), {}),
        ((), {"ZIZQ_CACHE_SIZE": "1.5 gb"}),
    ],
    ids=["500MB", "1GiB", "bytes", "env"],
)
def test_cache_size_accepted(spawn, tmp_path, args, env):
    proc = spawn(*serve_args(tmp_path / "r", *args), env=env)
    with proc.client() as client:
        assert client.get(f"/jobs/{enqueue(client)['id']}").status_code == 200


def _block_cache_capacities(root) -> set:
    """The block cache sizes RocksDB's info LOG reports for the open store."""
    text = (root / "data" / "LOG").read_text(errors="replace")
    return {int(m) for m in re.findall(r"^\s*capacity : (\d+)$", text, re.M)}


def test_cache_size_sizes_the_block_cache_also_on_reopen(spawn, tmp_path):
    root = tmp_path / "r"
    proc = spawn(*serve_args(root, "--cache-size", "123MB"))
    assert _block_cache_capacities(root) == {123_000_000}
    assert proc.stop() == 0
    proc = spawn(*serve_args(root), env={"ZIZQ_CACHE_SIZE": "77MiB"})
    assert _block_cache_capacities(root) == {77 * 2**20}
    assert proc.stop() == 0
    spawn(*serve_args(root))
    assert _block_cache_capacities(root) == {256_000_000}  # the default


def test_batch_sizes_and_licence_interval_accepted(spawn, tmp_path):
    proc = spawn(
        *serve_args(
            tmp_path / "r",
            "--enqueue-batch-size", "3",
            "--complete-batch-size", "2",
            "--license-key-check-interval", "0",
        )
    )
    with proc.client() as client:
        ids = [enqueue(client, payload=i)["id"] for i in range(10)]
        r = client.post("/jobs/bulk", json={"jobs": [
            {"queue": "q", "type": "t", "payload": i} for i in range(5)
        ]})
        assert r.status_code == 201, r.text
        stream = TakeStream(proc.port, "prefetch=20")
        taken = [job["id"] for job in stream.read_jobs(15)]
        assert set(ids) <= set(taken)
        assert client.post("/jobs/success", json={"ids": taken}).status_code == 204
        assert client.get("/jobs/count").json()["count"] == 0
        stream.close()


# --- environment-only variables ---------------------------------------------------------

ENV_ONLY = {
    "ZIZQ_LOG_FILTER": "warn,zizq=info",
    "ZIZQ_SCHEDULER_BATCH_SIZE": "50",
    "ZIZQ_AUTO_COMPACT_THRESHOLD": "100",
    "ZIZQ_DATA_TABLE_SIZE": "32MiB",
    "ZIZQ_INDEX_TABLE_SIZE": "4MiB",
    "ZIZQ_JOURNAL_SIZE": "32MiB",
    "ZIZQ_L0_THRESHOLD": "8",
}


@pytest.mark.parametrize(
    "env",
    [ENV_ONLY, {"ZIZQ_SCHEDULER_BATCH_SIZE": "abc"}],
    ids=["valid", "bad-scheduler-batch-size-is-ignored"],
)
def test_environment_only_variables_accepted(spawn, tmp_path, env):
    proc = spawn(*serve_args(tmp_path / "r"), env=env)
    now = int(time.time() * 1000)
    with proc.client() as client:
        soon = enqueue(client, ready_at=now + 300)["id"]
        ids = [enqueue(client, queue="bulk")["id"] for _ in range(5)]
        assert client.delete("/jobs", params={"queue": "bulk"}).status_code == 200
        assert all(client.get(f"/jobs/{i}").status_code == 404 for i in ids)
        deadline = time.monotonic() + 3
        while client.get(f"/jobs/{soon}").json()["status"] == "scheduled":
            assert time.monotonic() < deadline, "scheduler did not promote the job"
            time.sleep(0.05)
    assert proc.stop() == 0


# --- bad values ------------------------------------------------------------------------------

DURATION_FLAGS = (
    "--heartbeat-interval",
    "--default-backoff-base",
    "--default-backoff-jitter",
    "--default-completed-job-retention",
    "--default-dead-job-retention",
    "--reaper-check-interval",
    "--license-key-check-interval",
)
BAD_FLAG_VALUES = (
    *((flag, "abc") for flag in DURATION_FLAGS),
    ("--heartbeat-interval", "5 parsecs"),
    ("--heartbeat-interval", "-5s"),
    ("--cache-size", "12XB"),
    ("--cache-size", "abc"),
    ("--cache-size", ""),
    ("--cache-size", "1.2.3MB"),
    ("--log-max-size", "12 parsecs"),
    ("--port", "65536"),
    ("--admin-port", "-1"),
    ("-l", "-5"),
    ("--global-in-flight-limit", "lots"),
    ("--default-retry-limit", "4294967296"),
    ("--default-backoff-exponent", "fast"),
    ("--log-max-files", "many"),
    ("--log-format", "xml"),
    ("--log-level", "loud"),
    ("--log-rotation", "weekly"),
    ("--enqueue-batch-size", "1e3"),
    ("--complete-batch-size", "-1"),
    ("--default-commit-mode", "maybe"),
    ("--enqueue-commit-mode", "maybe"),
)


def test_bad_flag_values_are_usage_errors(tmp_path):
    root = tmp_path / "never"
    results = run_many(
        [(("serve", "--root-dir", str(root), flag, value), None)
         for flag, value in BAD_FLAG_VALUES]
    )
    for (flag, value), result in zip(BAD_FLAG_VALUES, results):
        assert result.returncode == 2, (flag, value, result.stderr)
        assert result.stderr.startswith("usage:"), (flag, value, result.stderr)
        assert f"argument {flag}" in result.stderr or flag in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    commit = results[-1].stderr
    assert "invalid commit mode 'maybe', expected 'buffered' or 'fsync'" in commit
    assert not root.exists()


BAD_ENV_VALUES = (
    ("ZIZQ_PORT", "70000", "invalid value for ZIZQ_PORT"),
    ("ZIZQ_NO_ADMIN", "maybe", "invalid value for ZIZQ_NO_ADMIN: invalid boolean 'maybe'"),
    ("ZIZQ_HEARTBEAT_INTERVAL", "abc", "invalid value for ZIZQ_HEARTBEAT_INTERVAL"),
    ("ZIZQ_CACHE_SIZE", "lots", "invalid value for ZIZQ_CACHE_SIZE"),
    ("ZIZQ_ENQUEUE_BATCH_SIZE", "3!", "invalid value for ZIZQ_ENQUEUE_BATCH_SIZE"),
    ("ZIZQ_COMPLETE_BATCH_SIZE", "-2", "invalid value for ZIZQ_COMPLETE_BATCH_SIZE"),
    (
        "ZIZQ_LICENSE_KEY_CHECK_INTERVAL",
        "soon",
        "invalid value for ZIZQ_LICENSE_KEY_CHECK_INTERVAL",
    ),
    ("ZIZQ_LOG_ROTATION", "weekly", "invalid value for ZIZQ_LOG_ROTATION"),
    (
        "ZIZQ_DEFAULT_COMMIT_MODE",
        "maybe",
        "invalid value for ZIZQ_DEFAULT_COMMIT_MODE: invalid commit mode 'maybe', "
        "expected 'buffered' or 'fsync'",
    ),
    (
        "ZIZQ_ENQUEUE_COMMIT_MODE",
        "maybe",
        "invalid value for ZIZQ_ENQUEUE_COMMIT_MODE: invalid commit mode 'maybe', "
        "expected 'buffered' or 'fsync'",
    ),
    # Storage tuning: exactly `invalid value for <NAME>: "<value>"`.
    ("ZIZQ_AUTO_COMPACT_THRESHOLD", "lots", 'invalid value for ZIZQ_AUTO_COMPACT_THRESHOLD: "lots"'),
    ("ZIZQ_DATA_TABLE_SIZE", "64 furlongs", 'invalid value for ZIZQ_DATA_TABLE_SIZE: "64 furlongs"'),
    ("ZIZQ_INDEX_TABLE_SIZE", "-8MiB", 'invalid value for ZIZQ_INDEX_TABLE_SIZE: "-8MiB"'),
    ("ZIZQ_JOURNAL_SIZE", "abc", 'invalid value for ZIZQ_JOURNAL_SIZE: "abc"'),
    ("ZIZQ_L0_THRESHOLD", "256", 'invalid value for ZIZQ_L0_THRESHOLD: "256"'),
    ("ZIZQ_L0_THRESHOLD", "four", 'invalid value for ZIZQ_L0_THRESHOLD: "four"'),
)


def test_bad_environment_values_are_runtime_errors(tmp_path):
    root = tmp_path / "never"
    results = run_many(
        [(("serve", "--root-dir", str(root)), {name: value})
         for name, value, _ in BAD_ENV_VALUES]
    )
    for (name, value, message), result in zip(BAD_ENV_VALUES, results):
        assert result.returncode == 1, (name, value, result.stderr)
        assert result.stderr.startswith(f"Error: {message}"), (name, result.stderr)
        assert result.stderr.count("\n") == 1 and result.stdout == ""
    # Storage messages are the whole line.
    for (name, value, message), result in zip(BAD_ENV_VALUES, results):
        if "TABLE" in name or "JOURNAL" in name or "L0" in name or "COMPACT" in name:
            assert result.stderr == f"Error: {message}\n"
    assert not root.exists()


@pytest.mark.parametrize(
    "args, env, formula",
    [
        (
            ("--default-backoff-base", "1h30m"),
            {},
            "delay_ms = attempts^4.0 * 1000 + 5400000 + rand * 30000 * attempts",
        ),
        (
            ("--default-backoff-exponent", "2", "--default-backoff-jitter", "0"),
            {},
            "delay_ms = attempts^2.0 * 1000 + 15000 + rand * 0 * attempts",
        ),
        (
            (),
            {"ZIZQ_DEFAULT_BACKOFF_JITTER": "0"},
            "delay_ms = attempts^4.0 * 1000 + 15000 + rand * 0 * attempts",
        ),
    ],
    ids=["base-flag", "two-flags", "jitter-env"],
)
def test_backoff_options_in_any_subset(spawn, tmp_path, args, env, formula):
    """Each backoff option not given keeps its default; the formula is logged."""
    # job_defaults reads a completed job back: keep completed jobs.
    retention = ("--default-completed-job-retention", "1h")
    proc = spawn(*serve_args(tmp_path / "r", *args, *retention), env=env)
    fields = proc.wait_for("default backoff")["fields"]
    assert fields["formula"] == formula
    exponent, base_ms, jitter_ms = fields["exponent"], fields["base_ms"], fields["jitter_ms"]
    delay = job_defaults(proc)["delay"]
    minimum = 1000 + base_ms  # attempts = 1, whatever the exponent
    assert minimum <= delay <= minimum + jitter_ms, (fields, delay)
    assert formula.startswith(f"delay_ms = attempts^{float(exponent)!r} ")


def test_backoff_formula_is_not_logged_by_default(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r"))
    proc.wait_for("store opened")
    assert "default backoff" not in proc.messages()


# --- every option at once (SRV-08) ------------------------------------------------------


def test_every_serve_flag_with_a_valid_value(spawn, tmp_path):
    port = free_port()
    log_dir = tmp_path / "logs"
    proc = spawn(
        "serve",
        "--root-dir", str(tmp_path / "r"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--admin-host", "127.0.0.1",
        "--admin-port", "0",
        "--no-admin",
        "--log-format", "json",
        "--log-level", "debug",
        "--log-to-disk",
        "--log-dir", str(log_dir),
        "--log-rotation", "hourly",
        "--log-max-size", "200MB",
        "--log-max-files", "20",
        "--heartbeat-interval", "500ms",
        "--global-in-flight-limit", "100",
        "--default-retry-limit", "40",
        "--default-backoff-base", "3s",
        "--default-backoff-exponent", "3.75",
        "--default-backoff-jitter", "15s",
        "--default-completed-job-retention", "14d",
        "--default-dead-job-retention", "90d",
        "--reaper-check-interval", "10s",
        "--default-commit-mode", "buffered",
        "--enqueue-commit-mode", "fsync",
        "--cache-size", "256MB",
        "--enqueue-batch-size", "500",
        "--complete-batch-size", "500",
        "--license-key-check-interval", "5s",
        port=port,
    )
    with proc.client() as client:
        job, stream = take_one(proc, client)
        assert client.post(f"/jobs/{job['id']}/success").status_code == 204
        got = client.get(f"/jobs/{job['id']}").json()
        assert got["purge_at"] == got["completed_at"] + 14 * DAY
        stream.close()
    assert proc.stop() == 0
    assert proc.out == []
    records = [json.loads(line) for line in (log_dir / "zizq.log").read_text().splitlines()]
    messages = [record["fields"]["message"] for record in records]
    assert "primary API listening" in messages
    assert "admin API listening" not in messages
    assert "DEBUG" in {record["level"] for record in records}


def test_every_serve_environment_variable_with_a_valid_value(spawn, tmp_path):
    port, admin_port = free_port(), free_port()
    env = {
        "ZIZQ_ROOT_DIR": str(tmp_path / "r"),
        "ZIZQ_HOST": "127.0.0.1",
        "ZIZQ_PORT": str(port),
        "ZIZQ_ADMIN_HOST": "127.0.0.1",
        "ZIZQ_ADMIN_PORT": str(admin_port),
        "ZIZQ_NO_ADMIN": "false",
        "ZIZQ_LOG_FORMAT": "compact",
        "ZIZQ_LOG_LEVEL": "info",
        "ZIZQ_LOG_TO_DISK": "false",
        "ZIZQ_LOG_ROTATION": "daily",
        "ZIZQ_LOG_MAX_SIZE": "100MB",
        "ZIZQ_LOG_MAX_FILES": "10",
        "ZIZQ_HEARTBEAT_INTERVAL": "3s",
        "ZIZQ_GLOBAL_IN_FLIGHT_LIMIT": "0",
        "ZIZQ_DEFAULT_RETRY_LIMIT": "25",
        "ZIZQ_DEFAULT_BACKOFF_BASE": "15s",
        "ZIZQ_DEFAULT_BACKOFF_EXPONENT": "4.0",
        "ZIZQ_DEFAULT_BACKOFF_JITTER": "30s",
        "ZIZQ_DEFAULT_COMPLETED_JOB_RETENTION": "0",
        "ZIZQ_DEFAULT_DEAD_JOB_RETENTION": "7d",
        "ZIZQ_REAPER_CHECK_INTERVAL": "30s",
        "ZIZQ_DEFAULT_COMMIT_MODE": "buffered",
        "ZIZQ_ENQUEUE_COMMIT_MODE": "fsync",
        "ZIZQ_CACHE_SIZE": "256MB",
        "ZIZQ_ENQUEUE_BATCH_SIZE": "1000",
        "ZIZQ_COMPLETE_BATCH_SIZE": "1000",
        "ZIZQ_LICENSE_KEY_CHECK_INTERVAL": "5s",
        **ENV_ONLY,
    }
    proc = spawn("serve", env=env, port=port)
    assert proc.admin_addr == f"127.0.0.1:{admin_port}"
    with proc.client() as client:
        job, stream = take_one(proc, client)
        assert client.post(f"/jobs/{job['id']}/success").status_code == 204
        assert client.get(f"/jobs/{job['id']}").status_code == 404
        stream.close()
    assert proc.stop() == 0
    assert proc.addr == f"127.0.0.1:{port}"


# --- start-up failures ----------------------------------------------------------------------


def test_root_dir_in_use_by_another_server(spawn, tmp_path):
    root = tmp_path / "shared"
    first = spawn(*serve_args(root))
    result = run_zizq(*serve_args(root))
    assert_runtime_error(result, "in use")
    assert str(root) in result.stderr
    assert "primary API listening" not in result.stdout
    # The first server is unharmed.
    with first.client() as client:
        assert client.get("/health").status_code == 200
        enqueue(client)


def test_unusable_root_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    under_file, is_file = blocker / "root", blocker
    results = run_many([(serve_args(under_file), None), (serve_args(is_file), None)])
    for root, result in zip((under_file, is_file), results):
        assert_runtime_error(result, str(root))
        assert "primary API listening" not in result.stdout


@pytest.mark.parametrize("which", ["--port", "--admin-port"])
def test_port_in_use(tmp_path, which):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        result = run_zizq(*serve_args(tmp_path / "r", which, str(busy)))
    assert_runtime_error(result, f"Address already in use (127.0.0.1:{busy})")
    assert "primary API listening" not in result.stdout


def test_second_server_on_a_used_port(spawn, tmp_path):
    first = spawn(*serve_args(tmp_path / "a"))
    result = run_zizq(
        "serve", "--root-dir", str(tmp_path / "b"), "--admin-port", "0",
        "--port", str(first.port),
    )
    assert_runtime_error(result, "Address already in use")
    # The loser released its store: its root dir can be opened again.
    second = spawn(*serve_args(tmp_path / "b"))
    with second.client() as client:
        assert client.get("/health").status_code == 200


def test_unassignable_host_is_a_runtime_error(tmp_path):
    result = run_zizq(*serve_args(tmp_path / "r", "--host", "192.0.2.1"))
    assert_runtime_error(result, "192.0.2.1")
