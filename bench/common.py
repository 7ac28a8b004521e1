"""Shared pieces of the benchmarks: a pinned server process and CPU accounting.

The server runs on core 0 (``taskset``) and load generators on core 1, so
"server CPU per 1,000 jobs" is read from the server's own /proc counters and
the client's cost does not pollute it. The machine is shared and noisy:
every scenario is run several times and the median is reported.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAYLOAD = {"data": "x" * 89}  # a job body of ~100 bytes of JSON payload


def job(queue: str = "bench", **extra) -> dict:
    return {"queue": queue, "type": "bench", "payload": PAYLOAD, **extra}


def pinned(core: int, argv: list) -> list:
    return ["taskset", "-c", str(core), *argv] if shutil.which("taskset") else argv


class BenchServer:
    """A ``zizq serve`` on core 0 with a temporary (or given) root directory."""

    def __init__(self, *flags, root_dir=None, quiet=False, prefix=(), admin=False):
        self.own_root = root_dir is None
        self.prefix = list(prefix)  # e.g. a valgrind command line
        self.root_dir = root_dir or tempfile.mkdtemp(prefix="zizq-bench-")
        self.flags = list(flags)
        # quiet: warnings only, but still the start-up lines we wait for.
        self.env = {"ZIZQ_LOG_FILTER": "warn,zizq::commands::serve=info"} if quiet else {}
        self.proc = None
        self.port = None
        self.admin = admin  # serve the admin listener too (bench/admin.py)
        self.admin_port = None

    def start(self, timeout: float = 120.0) -> float:
        """Start and wait until it serves; returns seconds from spawn to serving."""
        argv = [
            *self.prefix, sys.executable, "-m", "zizq_server.cli", "serve",
            "--root-dir", self.root_dir, "--port", "0",
            *(["--admin-port", "0"] if self.admin else ["--no-admin"]),
            "--log-format", "json", *self.flags,
        ]
        started = time.monotonic()
        self.proc = subprocess.Popen(
            pinned(0, argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, **self.env),
        )
        deadline = started + timeout
        for line in self.proc.stdout:
            record = json.loads(line)
            if record["fields"].get("api") == "admin":
                self.admin_port = int(record["fields"]["addr"].rsplit(":", 1)[1])
            if record["fields"].get("api") == "primary":
                self.port = int(record["fields"]["addr"].rsplit(":", 1)[1])
                break
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
        # Keep draining the log so the server never blocks on a full pipe.
        # The sink is neither server nor load: free to run on any core, not
        # on the load core this process may be pinned to.
        sink = subprocess.Popen(
            ["cat"], stdin=self.proc.stdout, stdout=subprocess.DEVNULL
        )
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(sink.pid, range(os.cpu_count() or 1))
        self.get("/health")
        return time.monotonic() - started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def post(self, path: str, body) -> dict:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as r:
            data = r.read()
            return json.loads(data) if data else {}

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def cpu_ns(self) -> int:
        """Nanoseconds on a CPU of every live thread (``cpu_seconds`` counts
        in 10 ms ticks, too coarse for one request of 10,000 jobs)."""
        total = 0
        tasks = f"/proc/{self.proc.pid}/task"
        for task in os.listdir(tasks):
            try:
                with open(f"{tasks}/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:  # the thread ended meanwhile
                pass
        return total

    def rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self) -> None:
        self.stop()
        if self.own_root:
            shutil.rmtree(self.root_dir, ignore_errors=True)


def machine_ticks():
    """``(steal, total)`` clock ticks of every CPU so far, or None off Linux.

    Steal is the time the hypervisor ran someone else while this machine's
    CPUs had work: the share of it during a run says how much that run's
    numbers owe to the neighbours rather than to the server.
    """
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    return ticks[7] if len(ticks) > 7 else 0, sum(ticks[:8])


def steal_pct(before, after) -> float:
    """Percent of all CPU time stolen between two ``machine_ticks()``."""
    if before is None or after is None or after[1] == before[1]:
        return 0.0
    return 100 * (after[0] - before[0]) / (after[1] - before[1])
