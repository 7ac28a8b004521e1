"""Server instructions per job under callgrind: a repeatable A/B measure.

    .venv/bin/python bench/instructions.py [--info] [single] [bulk] [drain] [h2c]
        [latency]

This machine is shared, and jobs/s or even CPU time per job move by 2x
between identical runs. Valgrind's callgrind counts the instructions the
server executes instead, which do not depend on what else the machine is
doing: two builds compared this way differ only by what changed. It counts
user-space instructions only (system calls are not included) and runs the
server ~50x slower, so it measures cost, never throughput or latency.

Each case is counted after a warm-up, between ``callgrind_control -z`` and
``-d``: single enqueues (HTTP/1.1 or h2c, 16 connections), bulk enqueues of
100, a drain with 16 workers, and the latency scenario's round trip (one
producer, one waiting stream, an ack per job: everything the server does
for a job when nothing else is going on).

The server logs at ``warn`` unless ``--info`` is given: then at the default
``info``, one request record per request in the json format (to a pipe).
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workers  # noqa: E402
from common import BenchServer, job  # noqa: E402
from run import run_async  # noqa: E402

CLIENTS = 16


def h2load(port: int, path: str, body, requests: int, h1: bool = True) -> None:
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(json.dumps(body).encode())
        f.flush()
        argv = ["h2load", "-c", str(CLIENTS), "-m", "1", "-n", str(requests)]
        argv += ["-d", f.name, "-H", "content-type: application/json"]
        argv += (["--h1"] if h1 else []) + [f"http://127.0.0.1:{port}{path}"]
        out = subprocess.run(argv, capture_output=True, text=True).stdout
    if f"{requests} succeeded" not in out:
        raise RuntimeError(f"h2load saw failures:\n{out}")


class CountedServer(BenchServer):
    """A BenchServer under callgrind, with counting switched per case."""

    def __init__(self, quiet: bool = True) -> None:
        self.dumps = tempfile.mkdtemp(prefix="zizq-callgrind-")
        prefix = [
            "valgrind", "--tool=callgrind", "--dump-instr=no",
            f"--callgrind-out-file={self.dumps}/cg.%p",
        ]
        super().__init__(quiet=quiet, prefix=prefix)

    def count(self, work) -> int:
        """Instructions the server executes while ``work()`` runs."""
        pid = str(self.proc.pid)
        subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)
        work()
        subprocess.run(["callgrind_control", "-d", pid], capture_output=True, check=True)
        newest = max(glob.glob(f"{self.dumps}/cg.*"), key=os.path.getmtime)
        with open(newest) as f:
            found = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
        return int(found.group(1))

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.dumps, ignore_errors=True)


def cases(port: int) -> dict:
    """name -> (jobs, set-up not counted, counted work)."""

    def nothing() -> None:
        pass

    return {
        "single": (1600, nothing, lambda: h2load(port, "/jobs", job(), 1600)),
        "h2c": (800, nothing, lambda: h2load(port, "/jobs", job(), 800, h1=False)),
        "bulk": (
            4800, nothing, lambda: h2load(port, "/jobs/bulk", {"jobs": [job()] * 100}, 48)
        ),
        "drain": (
            4800,
            lambda: run_async(workers.preload(port, 4800)),
            lambda: run_async(workers.drain(port, CLIENTS, 64, 4800)),
        ),
        # 40 jobs/s for 10 s: slow enough for the server under callgrind.
        "latency": (400, nothing, lambda: run_async(workers.latency(port, 40, 10))),
    }


def main() -> None:
    info = "--info" in sys.argv[1:]
    wanted = [arg for arg in sys.argv[1:] if arg != "--info"]
    wanted = wanted or ["single", "bulk", "drain"]
    for tool in ("valgrind", "callgrind_control", "h2load"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install valgrind nghttp2-client")
    server = CountedServer(quiet=not info)
    try:
        server.start(timeout=600)
        # Warm-up: imports, caches and first-use paths are not counted.
        h2load(server.port, "/jobs", job(), 200)
        h2load(server.port, "/jobs/bulk", {"jobs": [job()] * 100}, 16)
        run_async(workers.drain(server.port, CLIENTS, 64, 1800))
        table = cases(server.port)
        for name in wanted:
            jobs, setup, work = table[name]
            setup()
            started = time.monotonic()
            per_job = server.count(work) / jobs
            took = time.monotonic() - started
            print(f"{name:7s} {per_job / 1000:8.1f} k instructions/job  ({took:.0f} s)")
    finally:
        server.close()


if __name__ == "__main__":
    main()
