"""Single requests over h2c against HTTP/1.1, at info and at warn, paired.

    .venv/bin/python bench/h2_single.py [rounds] [requests]

One server per log level (``info``, the default, and ``warn``), both on
core 0, h2load on core 1. Each round runs every case once, in turn, on
each server: a single enqueue (``POST /jobs``), an ack (``POST
/jobs/{id}/success`` of a job a take stream holds, a different one each
request) and ``GET /jobs/{id}``, over HTTP/1.1 (``--h1``) and h2c (prior
knowledge), with 1 and 16 connections of one request in flight each.
An ack case runs one h2load of one connection per connection, each with
its own list of ids (h2load would give every connection the same list).
Reported per case: the median requests/s and the median server CPU per
request (from /proc), and the h2c/HTTP/1.1 and info/warn ratios of both.
Alternating the cases in every round keeps the machine's drift out of the
ratios; the absolute numbers still move with the load, so read the
ratios.
"""

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BenchServer, job, pinned  # noqa: E402

CASES = [
    (kind, protocol, connections)
    for kind in ("enqueue", "ack", "get")
    for connections in (1, 16)
    for protocol in ("h1", "h2c")
]


def h2load_argv(requests: int, connections: int, h1: bool, body=None) -> list:
    """h2load's command line up to its URIs; ``body`` a file to POST."""
    argv = ["h2load", "-c", str(connections), "-m", "1", "-n", str(requests)]
    if body is not None:
        argv += ["-d", body, "-H", "content-type: application/json"]
    return argv + (["--h1"] if h1 else [])


def finished(out: str, requests: int) -> float:
    """Requests/s of one h2load run (raises on any failed request)."""
    if f"{requests} succeeded" not in out or " 0 4xx, 0 5xx" not in out:
        raise RuntimeError(f"h2load saw failures:\n{out}")
    return float(re.search(r"finished in .*?, ([\d.]+) req/s", out).group(1))


def h2load(url: str, requests: int, connections: int, h1: bool, body=None) -> float:
    """Requests/s of ``requests`` to ``url`` (``body`` POSTed as JSON)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        if body is not None:
            f.write(json.dumps(body).encode())
            f.flush()
        argv = h2load_argv(requests, connections, h1, f.name if body else None)
        out = subprocess.run(pinned(1, argv + [url]), capture_output=True, text=True)
    return finished(out.stdout, requests)


class Taken:
    """``count`` jobs held by an open take stream, for acks to complete."""

    def __init__(self, server: BenchServer, count: int) -> None:
        server.post("/jobs/bulk", {"jobs": [job("acks")] * count})
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.conn.request("GET", f"/jobs/take?queue=acks&prefetch={count}")
        response = self.conn.getresponse()
        self.ids = []
        while len(self.ids) < count:
            line = response.readline().strip()
            if line:
                self.ids.append(json.loads(line)["id"])

    def close(self) -> None:
        self.conn.close()


def acks(server: BenchServer, taken: Taken, connections: int, h1: bool) -> float:
    """Requests/s of acking every job ``taken`` holds over ``connections``."""
    share = len(taken.ids) // connections
    with tempfile.TemporaryDirectory() as lists:
        body = os.path.join(lists, "body.json")  # ignored; h2load needs one
        with open(body, "w") as f:
            f.write("{}")
        runs = []
        for n in range(connections):
            uris = os.path.join(lists, f"{n}.txt")
            with open(uris, "w") as f:
                for job_id in taken.ids[n * share:(n + 1) * share]:
                    f.write(f"{server.url}/jobs/{job_id}/success\n")
            runs.append(h2load_argv(share, 1, h1, body) + ["-i", uris])
        started = time.monotonic()
        procs = [
            subprocess.Popen(pinned(1, argv), stdout=subprocess.PIPE, text=True)
            for argv in runs
        ]
        outs = [proc.communicate()[0] for proc in procs]
        elapsed = time.monotonic() - started
    for out in outs:
        finished(out, share)
    return share * connections / elapsed


def run_case(server: BenchServer, job_id: str, case, requests: int):
    """``(requests/s, server CPU microseconds per request)``."""
    kind, protocol, connections = case
    h1 = protocol == "h1"
    if kind == "ack":
        taken = Taken(server, requests - requests % connections)
        before = server.cpu_seconds()  # the take itself is not the case's
        rate = acks(server, taken, connections, h1)
        cpu = (server.cpu_seconds() - before) / len(taken.ids) * 1e6
        taken.close()
        return rate, cpu
    path = "/jobs" if kind == "enqueue" else f"/jobs/{job_id}"
    body = job() if kind == "enqueue" else None
    before = server.cpu_seconds()
    rate = h2load(server.url + path, requests, connections, h1, body)
    return rate, (server.cpu_seconds() - before) / requests * 1e6


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    # No in-flight limit: an ack case holds a whole case's jobs at once.
    unlimited = ("--global-in-flight-limit", "0")
    servers = {
        "info": BenchServer(*unlimited), "warn": BenchServer(*unlimited, quiet=True)
    }
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
