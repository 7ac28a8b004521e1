"""Online backup and compaction of 1,000,000 stored jobs, under producer load.

    .venv/bin/python bench/backup.py [--jobs 1000000] [--clients 16] [--window 45]

One server (pinned to core 0, like every benchmark here) is loaded with
``--jobs`` jobs by bulk enqueue. Then ``--clients`` producers (h2load, one
single-job POST /jobs in flight per connection, on core 1) run four times,
each for ``--window`` seconds, with a pause between runs:

* quiet: nothing else happens (a reference);
* backup: ``POST /backup`` starts two seconds in, saved to a file by the
  ``zizq backup`` library code in this process (core 1);
* quiet again: the second reference, so that the machine's drift (it is
  shared) shows;
* compact: ``POST /compact`` starts two seconds in.

For each run the producers' throughput and p99 latency are taken from
h2load's per-request log over the operation's own time span (the quiet
runs: ``--quiet-span`` seconds from two seconds in), so a fast backup is
not diluted by the quiet seconds after it. Printed: backup seconds,
archive size, compaction seconds, and each run's jobs/s and p99 against
the mean of the quiet runs. Targets (issue 17): backup <= 30 s; producers
keep >= 70% of their throughput and a p99 <= 3x.
"""

import argparse
import asyncio
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import workers  # noqa: E402
from common import ROOT, job, machine_ticks, pinned, steal_pct  # noqa: E402
from enqueue import H2LOAD_HINT  # noqa: E402

from zizq_server.tools.admin_client import AdminEndpoint  # noqa: E402
from zizq_server.tools.backup import backup  # noqa: E402
from zizq_server.tools.compact import compact  # noqa: E402

START_AFTER_S = 2.0
# Pause between runs, for the previous run's background work to settle.
SETTLE_S = 5.0


class Server:
    """``zizq serve`` on core 0 with both listeners on ephemeral ports."""

    def __init__(self, root_dir: str) -> None:
        self.root_dir = root_dir
        self.proc = None
        self.port = self.admin_port = None

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "zizq_server.cli",
            "serve",
            "--root-dir",
            self.root_dir,
            "--port",
            "0",
            "--admin-port",
            "0",
            "--log-format",
            "json",
        ]
        env = dict(os.environ, PYTHONPATH=ROOT)
        env["ZIZQ_LOG_FILTER"] = "warn,zizq::commands::serve=info"
        self.proc = subprocess.Popen(
            pinned(0, argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env=env,
        )
        for line in self.proc.stdout:
            fields = json.loads(line)["fields"]
            if fields.get("api") == "admin":
                self.admin_port = int(fields["addr"].rsplit(":", 1)[1])
            if fields.get("api") == "primary":
                self.port = int(fields["addr"].rsplit(":", 1)[1])
                break
        subprocess.Popen(["cat"], stdin=self.proc.stdout, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)


def start_producers(port: int, clients: int, seconds: float, log: str):
    if shutil.which("h2load") is None:
        raise SystemExit(H2LOAD_HINT)
    body = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
    body.write(json.dumps(job("load")).encode())
    body.close()
    argv = ["h2load", "--h1", "-c", str(clients), "-m", "1", "-D", str(seconds)]
    argv += ["-d", body.name, "-H", "content-type: application/json"]
    argv += [f"--log-file={log}", f"http://127.0.0.1:{port}/jobs"]
    return subprocess.Popen(pinned(1, argv), stdout=subprocess.PIPE, text=True)


def window_stats(log: str, start: float, end: float) -> dict:
    """jobs/s and p99 ms of the requests that started within [start, end)."""
    latencies, failed = [], 0
    with open(log) as f:
        for line in f:
            started_us, status, took_us = line.split("\t")[:3]
            if start <= int(started_us) / 1e6 < end:
                if status != "201":
                    failed += 1
                latencies.append(int(took_us) / 1000)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("nan")
    return {
        "jobs_per_s": round(len(latencies) / (end - start)),
        "p99_ms": round(p99, 1),
        "failed": failed,
    }


def run_window(server, args, workdir, name, operation):
    """Producers for ``args.window`` s; ``operation`` starts 2 s in.

    Returns the producers' stats over the operation's time span, and what
    the operation returned.
    """
    log = os.path.join(workdir, f"{name}.tsv")
    ticks = machine_ticks()
    producers = start_producers(server.port, args.clients, args.window, log)
    time.sleep(START_AFTER_S)
    began = time.time()
    outcome = operation()
    ended = time.time()
    producers.wait()
    stats = window_stats(log, began, ended)
    stats["seconds"] = round(ended - began, 2)
    stats["steal_pct"] = round(steal_pct(ticks, machine_ticks()), 1)
    return stats, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--window", type=int, default=45)
    parser.add_argument(
        "--quiet-span",
        type=float,
        default=20.0,
        help="seconds of the quiet runs measured",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})
    workdir = tempfile.mkdtemp(prefix="zizq-bench-backup-")
    server = Server(os.path.join(workdir, "root"))
    try:
        server.start()
        endpoint = AdminEndpoint(url=f"http://127.0.0.1:{server.admin_port}")
        loaded = time.monotonic()
        asyncio.run(workers.preload(server.port, args.jobs))
        print(f"preloaded {args.jobs:,} jobs in {time.monotonic() - loaded:.1f} s")
        archive = os.path.join(workdir, "backup.tar.gz")
        runs = {}
        for name, operation in (
            ("quiet", lambda: time.sleep(args.quiet_span)),
            ("backup", lambda: backup(endpoint, archive, io.StringIO())),
            ("quiet again", lambda: time.sleep(args.quiet_span)),
            ("compact", lambda: compact(endpoint, io.StringIO())),
        ):
            time.sleep(SETTLE_S)
            runs[name], _ = run_window(server, args, workdir, name, operation)
        report(args, os.path.getsize(archive), runs)
    finally:
        if server.proc is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(args, size, runs) -> None:
    quiet = {
        key: statistics.mean((runs["quiet"][key], runs["quiet again"][key]))
        for key in ("jobs_per_s", "p99_ms")
    }
    print(f"backup: {runs['backup']['seconds']} s, archive {size / 2**20:.1f} MiB")
    print(f"compaction: {runs['compact']['seconds']} s")
    print(
        f"(share and p99 x against the mean of the two quiet runs: "
        f"{quiet['jobs_per_s']:.0f} jobs/s, p99 {quiet['p99_ms']:.1f} ms)"
    )
    print(
        f"{'run':<12}{'jobs/s':>9}{'share':>8}{'p99 ms':>9}{'p99 x':>7}"
        f"{'failed':>8}{'steal %':>9}"
    )
    for name, stats in runs.items():
        share = stats["jobs_per_s"] / quiet["jobs_per_s"]
        ratio = stats["p99_ms"] / quiet["p99_ms"]
        print(
            f"{name:<12}{stats['jobs_per_s']:>9}{share:>8.0%}{stats['p99_ms']:>9}"
            f"{ratio:>7.2f}{stats['failed']:>8}{stats['steal_pct']:>9}"
        )
    print(
        json.dumps(
            {"jobs": args.jobs, "clients": args.clients, "archive_bytes": size, **runs}
        )
    )


if __name__ == "__main__":
    main()
