"""HTTPS against cleartext: server CPU per single enqueue, and handshakes.

    .venv/bin/python bench/tls.py [--rounds N] [--seconds S] [--instructions]

Two servers run side by side on core 0, one plain and one with a
certificate from ``zizq tls`` (ECDSA P-256); ``h2load`` on core 1 drives
one of them at a time. Each round measures, for both servers in turn:

* single enqueue, 16 keep-alive producers with one request in flight each,
  over HTTP/1.1 and over h2 (h2c on the plain server, ALPN h2 over TLS):
  the server's CPU time per request, from its /proc counters;
* new connections: 64 clients that each connect, send one enqueue and
  leave, repeated for the round's time; server CPU per connection and
  connections per second of wall time (both include the one request,
  so the difference between the servers is what a handshake costs).

The machine is shared and noisy, so the two servers are measured
alternately in each round and the report gives the median of the rounds
and the HTTPS/cleartext ratio of those medians (target for keep-alive
enqueues: <= 1.5x the CPU per request).

``--instructions`` counts instead, under callgrind (as bench/instructions.py
does): user-space instructions per request (the difference between a run
of 960 and one of 160 requests, so that the 16 connections each run opens
are not in it) and per new connection (with its one request), which do
not depend on the machine's load. The kernel's share (system calls) is not
in them.

Measured 2026-12-02 (2 shared cores, load average 8-11 from other work;
ECDSA P-256 certificate, TLS 1.3 with AES-256-GCM as h2load negotiates):

    --instructions     http      https    ratio
    h1 enqueue         246.7 k   346.4 k  1.40
    h2 enqueue         289.0 k   385.9 k  1.34
    new connection     516.5 k   3613.4 k (+3.1 M instructions a handshake)

    (Counting whole runs instead, with their 16 handshakes each, had said
    1.65 and 1.56: a 800-request run spends ~60 k a request on them.)

    CPU time, two runs of 3 rounds x 4 s (median us, ratio):
    h1 enqueue         235 / 302 (1.28)   199 / 375 (1.89)
    h2 enqueue         797 / 1164 (1.46)  280 / 442 (1.58)
    new connection     547 / 2148          563 / 2188: ~1.6 ms CPU a handshake,
                       44-52 new TLS connections/s against 65-70 cleartext
                       (h2load's start-up per 64 connections included)

    The CPU-time runs moved by 1.5x between identical runs (and the h2
    path itself changed under them: another change to serve/ was being
    made), so the instruction counts are the numbers to go by.
"""

import argparse
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import BenchServer, job, machine_ticks, pinned, steal_pct  # noqa: E402
from instructions import CountedServer  # noqa: E402

from zizq_server.tools.tls import operations  # noqa: E402

PRODUCERS = 16
FRESH_CLIENTS = 64
KEEP_ALIVE_FEW, KEEP_ALIVE_MANY = 160, 960


def tls_flags(cert_dir: str) -> list:
    cert = os.path.join(cert_dir, "server-cert.pem")
    return ["--tls-cert", cert, "--tls-key", os.path.join(cert_dir, "server-key.pem")]


class TlsBenchServer(BenchServer):
    """A BenchServer with HTTPS on its primary listener."""

    def __init__(self, cert_dir: str, **kwargs) -> None:
        super().__init__(*tls_flags(cert_dir), **kwargs)
        self.context = ssl.create_default_context(
            cafile=os.path.join(cert_dir, "ca-cert.pem")
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(
            self.url + path, timeout=30, context=self.context
        ) as answer:
            return json.loads(answer.read())


class CountedTlsServer(CountedServer):
    """The callgrind server of bench/instructions.py, with HTTPS."""

    def __init__(self, cert_dir: str) -> None:
        super().__init__(quiet=True)
        self.flags = tls_flags(cert_dir)
        self.context = ssl.create_default_context(
            cafile=os.path.join(cert_dir, "ca-cert.pem")
        )

    url = TlsBenchServer.url
    get = TlsBenchServer.get


def h2load(argv: list) -> str:
    out = subprocess.run(pinned(1, argv), capture_output=True, text=True).stdout
    failed = int(re.search(r"(\d+) failed", out).group(1))
    errored = int(re.search(r"(\d+) errored", out).group(1))
    if failed or errored or re.search(r"[1-9]\d* [345]xx", out):
        raise RuntimeError(f"h2load saw failures:\n{out}")
    return out


def keep_alive(server, body_file: str, seconds: int, h1: bool) -> float:
    """Server CPU microseconds per keep-alive single enqueue."""
    argv = ["h2load", "-c", str(PRODUCERS), "-m", "1", "-D", str(seconds)]
    argv += ["-d", body_file, "-H", "content-type: application/json"]
    argv += (["--h1"] if h1 else []) + [server.url + "/jobs"]
    before = server.cpu_seconds()
    out = h2load(argv)
    cpu = server.cpu_seconds() - before
    done = int(re.search(r"(\d+) succeeded", out).group(1))
    return cpu * 1e6 / done


def fresh_connections(server, body_file: str, seconds: int) -> tuple[float, float]:
    """(server CPU us per new connection, new connections per second)."""
    argv = ["h2load", "--h1", "-c", str(FRESH_CLIENTS), "-n", str(FRESH_CLIENTS)]
    argv += ["-d", body_file, "-H", "content-type: application/json"]
    argv += [server.url + "/jobs"]
    connections, before, started = 0, server.cpu_seconds(), time.monotonic()
    while time.monotonic() - started < seconds:
        h2load(argv)
        connections += FRESH_CLIENTS
    wall = time.monotonic() - started
    cpu = server.cpu_seconds() - before
    return cpu * 1e6 / connections, connections / wall


def counted(cert_dir: str, body_file: str) -> None:
    """Instructions per request and per new connection, http vs https."""
    servers = {"http": CountedServer(quiet=True), "https": CountedTlsServer(cert_dir)}
    body = ["-d", body_file, "-H", "content-type: application/json"]
    for name, server in servers.items():
        try:
            server.start(timeout=600)
            url = server.url + "/jobs"
            h2load(["h2load", "--h1", "-c", "16", "-n", "200", *body, url])
            for case, protocol in (("h1", ["--h1"]), ("h2", [])):
                # Each h2load run opens its 16 connections anew: the
                # difference of two runs is the requests' cost alone.
                runs = [
                    server.count(
                        lambda n=n: h2load(
                            ["h2load", *protocol, "-m", "1", "-c", "16"]
                            + ["-n", str(n), *body, url]
                        )
                    )
                    for n in (KEEP_ALIVE_FEW, KEEP_ALIVE_MANY)
                ]
                per = (runs[1] - runs[0]) / (KEEP_ALIVE_MANY - KEEP_ALIVE_FEW)
                print(f"{name:5} {case:10} {per / 1000:8.1f} k instructions each")
            fresh = ["h2load", "--h1", "-c", str(FRESH_CLIENTS)]
            fresh += ["-n", str(FRESH_CLIENTS), *body, url]
            per = server.count(lambda: h2load(fresh)) / FRESH_CLIENTS
            print(f"{name:5} connection {per / 1000:8.1f} k instructions each")
        finally:
            server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        raise SystemExit("h2load not found: apt-get install nghttp2-client")
    cert_dir = tempfile.mkdtemp(prefix="zizq-bench-tls-")
    with open(os.devnull, "w") as quiet:
        operations.init(
            operations.InitOptions(out_dir=cert_dir, sans=("127.0.0.1",)), quiet
        )
    body_file = os.path.join(cert_dir, "job.json")
    with open(body_file, "w") as f:
        json.dump(job(), f)
    if args.instructions:
        try:
            counted(cert_dir, body_file)
        finally:
            shutil.rmtree(cert_dir, ignore_errors=True)
        return
    servers = {
        "http": BenchServer(quiet=True),
        "https": TlsBenchServer(cert_dir, quiet=True),
    }
    results = {
        name: {"h1": [], "h2": [], "conn_cpu": [], "conn_rate": []}
        for name in servers
    }
    ticks = machine_ticks()
    try:
        for server in servers.values():
            server.start()
        for round_number in range(args.rounds):
            for name, server in servers.items():
                for case, h1 in (("h1", True), ("h2", False)):
                    results[name][case].append(
                        keep_alive(server, body_file, args.seconds, h1)
                    )
                cpu, rate = fresh_connections(server, body_file, args.seconds)
                results[name]["conn_cpu"].append(cpu)
                results[name]["conn_rate"].append(rate)
            print(f"round {round_number + 1}: {json.dumps(results)}", file=sys.stderr)
    finally:
        for server in servers.values():
            server.close()
        shutil.rmtree(cert_dir, ignore_errors=True)
    report(results, steal_pct(ticks, machine_ticks()))


def report(results: dict, steal: float) -> None:
    medians = {
        name: {case: statistics.median(values) for case, values in cases.items()}
        for name, cases in results.items()
    }
    plain, tls = medians["http"], medians["https"]
    rows = [
        ("single enqueue HTTP/1.1, server CPU us/request", "h1"),
        ("single enqueue h2, server CPU us/request", "h2"),
        ("new connection + 1 enqueue, server CPU us", "conn_cpu"),
        ("new connections per second (wall)", "conn_rate"),
    ]
    print(f"{'':50} {'http':>9} {'https':>9} {'ratio':>6}")
    for label, key in rows:
        ratio = tls[key] / plain[key]
        print(f"{label:50} {plain[key]:9.1f} {tls[key]:9.1f} {ratio:6.2f}")
    print(f"(median of {len(results['http']['h1'])} rounds; CPU stolen: {steal:.1f}%)")


if __name__ == "__main__":
    main()
