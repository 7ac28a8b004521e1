"""Single requests over h2c against HTTP/1.1, at info and at warn, paired.

    .venv/bin/python bench/h2_single.py [rounds] [requests]

One server per log level (``info``, the default, and ``warn``), both on
core 0, h2load on core 1. Each round runs every case once, in turn, on
each server: a single enqueue (``POST /jobs``) and ``GET /jobs/{id}``,
over HTTP/1.1 (``--h1``) and h2c (prior knowledge), with 1 and 16
connections of one request in flight each. Reported per case: the median
requests/s and the median server CPU per request (from /proc), and the
h2c/HTTP/1.1 and info/warn ratios of both. Alternating the cases in every
round keeps the machine's drift out of the ratios; the absolute numbers
still move with the load, so read the ratios.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BenchServer, job, pinned  # noqa: E402

CASES = [
    (kind, protocol, connections)
    for kind in ("enqueue", "get")
    for connections in (1, 16)
    for protocol in ("h1", "h2c")
]


def h2load(url: str, requests: int, connections: int, h1: bool, body=None) -> float:
    """Requests/s of one h2load run (raises on any failed request)."""
    argv = ["h2load", "-c", str(connections), "-m", "1", "-n", str(requests)]
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        if body is not None:
            f.write(json.dumps(body).encode())
            f.flush()
            argv += ["-d", f.name, "-H", "content-type: application/json"]
        argv += (["--h1"] if h1 else []) + [url]
        out = subprocess.run(pinned(1, argv), capture_output=True, text=True).stdout
    if f"{requests} succeeded" not in out:
        raise RuntimeError(f"h2load saw failures:\n{out}")
    return float(re.search(r"finished in .*?, ([\d.]+) req/s", out).group(1))


def run_case(server: BenchServer, job_id: str, case, requests: int):
    """``(requests/s, server CPU microseconds per request)``."""
    kind, protocol, connections = case
    path = "/jobs" if kind == "enqueue" else f"/jobs/{job_id}"
    body = job() if kind == "enqueue" else None
    before = server.cpu_seconds()
    rate = h2load(server.url + path, requests, connections, protocol == "h1", body)
    return rate, (server.cpu_seconds() - before) / requests * 1e6


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    servers = {"info": BenchServer(), "warn": BenchServer(quiet=True)}
    results = {(level, case): [] for level in servers for case in CASES}
    try:
        ids = {}
        for level, server in servers.items():
            server.start()
            ids[level] = server.post("/jobs", job())["id"]
            for case in CASES:  # warm-up
                run_case(server, ids[level], case, 500)
        for _ in range(rounds):
            for case in CASES:
                for level, server in servers.items():
                    found = run_case(server, ids[level], case, requests)
                    results[level, case].append(found)
    finally:
        for server in servers.values():
            server.close()
    medians = {
        key: tuple(statistics.median(run[i] for run in runs) for i in (0, 1))
        for key, runs in results.items()
    }
    print(f"{'case':24s} {'level':5s} {'req/s':>8s} {'us CPU':>7s}  h2c/h1 rate, CPU")
    for level in servers:
        for kind, protocol, connections in CASES:
            rate, cpu = medians[level, (kind, protocol, connections)]
            line = f"{kind} {protocol} x{connections:<2d}".ljust(24)
            line += f" {level:5s} {rate:8.0f} {cpu:7.1f}"
            if protocol == "h2c":
                h1_rate, h1_cpu = medians[level, (kind, "h1", connections)]
                line += f"  {rate / h1_rate:.2f}x, {cpu / h1_cpu:.2f}x"
            print(line)
    print("info/warn (rate, CPU):")
    for case in CASES:
        (i_rate, i_cpu), (w_rate, w_cpu) = medians["info", case], medians["warn", case]
        name = f"{case[0]} {case[1]} x{case[2]}"
        print(f"  {name:24s} {i_rate / w_rate:.2f}x, {i_cpu / w_cpu:.2f}x")


if __name__ == "__main__":
    main()
