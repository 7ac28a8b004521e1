"""What a jq ``filter=`` costs a listing and a count; print one table and JSON.

    .venv/bin/python bench/filter.py [--jobs 10000,100000] [--runs 5]

For each store size a fresh server (pinned to core 0, see common.py) is
preloaded with jobs whose payloads are ``{"n": i % 10, "data": "x" * 80}``,
then each query below is timed (median of ``--runs``):

* ``list_ms``: ``GET /jobs?filter=.n == 5``, a first page of 50 (stops early).
* ``list_2000_ms``: the same with ``limit=2000``.
* ``list_none_ms``: ``GET /jobs?filter=.n == 99``: no match, every job read.
* ``count_ms``: ``GET /jobs/count?filter=.n == 5``: every job read.

``*_cpu_ms`` is the CPU the server and its child processes (jq workers, when
there are any) spent on one such request. ``health_max_ms`` is the slowest
``GET /health`` answer seen by a second client polling every 10 ms while one
count runs: how long the scan keeps everyone else waiting.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import CLK_TCK, BenchServer

QUERIES = {
    "list": "/jobs?filter=" + urllib.parse.quote(".n == 5"),
    "list_2000": "/jobs?limit=2000&filter=" + urllib.parse.quote(".n == 5"),
    "list_none": "/jobs?filter=" + urllib.parse.quote(".n == 99"),
    "count": "/jobs/count?filter=" + urllib.parse.quote(".n == 5"),
}


def preload(server: BenchServer, total: int) -> None:
    for start in range(0, total, 1000):
        jobs = [
            {
                "queue": "bench",
                "type": "bench",
                "payload": {"n": i % 10, "data": "x" * 80},
            }
            for i in range(start, min(start + 1000, total))
        ]
        server.post("/jobs/bulk", {"jobs": jobs})


def _tree_pids(pid: int) -> list:
    """The process and its live descendants (the jq workers)."""
    pids = [pid]
    for each in pids:  # the list grows as children are found
        try:
            with open(f"/proc/{each}/task/{each}/children") as f:
                pids += [int(child) for child in f.read().split()]
        except OSError:
            continue
    return pids


def tree_cpu_seconds(pid: int) -> float:
    total = 0
    for each in _tree_pids(pid):
        try:
            with open(f"/proc/{each}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def timed(server: BenchServer, path: str, runs: int) -> tuple:
    """Median wall and CPU milliseconds of ``runs`` requests."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu = tree_cpu_seconds(server.proc.pid)
        started = time.perf_counter()
        server.get(path)
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((tree_cpu_seconds(server.proc.pid) - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def health_during(server: BenchServer, path: str) -> float:
    """The slowest /health answer while one ``path`` request runs."""
    done = threading.Event()
    slowest = 0.0

    def scan() -> None:
        server.get(path)
        done.set()

    thread = threading.Thread(target=scan)
    thread.start()
    while not done.is_set():
        started = time.perf_counter()
        server.get("/health")
        slowest = max(slowest, (time.perf_counter() - started) * 1000)
        time.sleep(0.01)
    thread.join()
    return slowest


def measure(total: int, runs: int) -> dict:
    server = BenchServer(quiet=True)
    try:
        server.start()
        preload(server, total)
        server.get(QUERIES["count"])  # warm: caches, and the workers if any
        result = {}
        for name, path in QUERIES.items():
            wall, cpu = timed(server, path, runs)
            result[f"{name}_ms"] = wall
            result[f"{name}_cpu_ms"] = cpu
        result["health_max_ms"] = health_during(server, QUERIES["count"])
        return result
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=os.path.join("bench", "results"))
    args = parser.parse_args()
    results = {}
    for total in (int(n) for n in args.jobs.split(",")):
        results[total] = measure(total, args.runs)
        row = "  ".join(f"{k}={v:,.1f}" for k, v in results[total].items())
        print(f"{total:>9,} jobs  {row}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "filter-" + time.strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nmedians of {args.runs} run(s); JSON written to {path}")


if __name__ == "__main__":
    main()
