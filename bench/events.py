"""The admin ``/events`` feed: what dashboards cost the job traffic.

    .venv/bin/python bench/events.py [throughput] [build] [--seconds N] [--rounds N]

``throughput``: bulk enqueues (100 jobs a request, 16 h2load connections
on core 1) against one licensed server, in alternating rounds with no
``/events`` client and with 5 clients subscribed to 200-job windows on all
three lists, each reading every message in a thread: first with the
windows at the head of each list (``zizq top``'s default), then at the
tail, where every bulk moves every window (the worst case: each bulk of
100 is 100 removals and 100 additions per client, one message each, as the
spec's diffs are). Reported: median jobs/s of each, and the ratio.

2026-12-02, load 13-15 on 2 cores, ``--seconds 5 --rounds 2``, after
turns became diffs at any size and markers went to every client: none
14,560-19,620 jobs/s; head 13,140-17,140 (ratio 0.71-0.85); tail
2,480-4,160 (ratio 0.17-0.18, ~7,000 messages a client a round: the cost
is one WebSocket message per change).

``build``: the first client's cost at 1,000,000 stored jobs, two ways: in
process, ``feed.attach`` on a store holding them (its CPU, and the longest
the loop was held meanwhile); and end to end, connect to the first
``job_snapshot`` on a server that holds them while producers enqueue and a
prober asks ``/health`` (``build_end_to_end``).

Before -> after the build in slices (2026-12-02, 2 cores at load 13-15;
the same root served alternately by the old and the new tree, two rounds
each, 4 producers and a /health prober): slowest /health during the first
connect 6,218-6,654 ms -> 237-346 ms (answers in that window 32-41 ->
1,288-1,403); producers during the connect 32-56 -> 165-202 jobs/s
(before the connect 319-417 both ways); first snapshot 6.3-6.7 s -> 28-36
s (the build takes at most half of the loop's time, so the first client
waits longer while the job traffic keeps most of the server).
"""

import argparse
import asyncio
import gc
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import enqueue
from common import ROOT, BenchServer, job, pinned
from websockets.sync.client import connect

CLIENTS = 5
LIMIT = 200
MILLION = 1_000_000


class AdminBenchServer(BenchServer):
    """A BenchServer with its admin listener, licensed with a test issuer."""

    def __init__(self, *flags, **kwargs) -> None:
        from tests.zizq_server.licence.keys import Issuer

        issuer = Issuer()
        key_dir = tempfile.mkdtemp(prefix="zizq-bench-key-")
        public = os.path.join(key_dir, "issuer.pem")
        with open(public, "wb") as f:
            f.write(issuer.public_pem())
        token = issuer.token(exp=int(time.time()) + 86_400)
        super().__init__(
            "--license-key", token, "--license-public-key", public, *flags, **kwargs
        )
        self.admin_port = None

    def start(self, timeout: float = 300.0) -> float:
        """BenchServer.start with an admin port, read from the log."""
        argv = [
            sys.executable, "-m", "zizq_server.cli", "serve",
            "--root-dir", self.root_dir, "--port", "0", "--admin-port", "0",
            "--log-format", "json", *self.flags,
        ]
        started = time.monotonic()
        self.proc = subprocess.Popen(
            pinned(0, argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT, **self.env),
        )
        for line in self.proc.stdout:
            fields = json.loads(line)["fields"]
            if fields.get("api") == "admin":
                self.admin_port = int(fields["addr"].rsplit(":", 1)[1])
            if fields.get("api") == "primary":
                self.port = int(fields["addr"].rsplit(":", 1)[1])
                break
            if time.monotonic() > started + timeout:
                raise RuntimeError("server did not start")
        sink = subprocess.Popen(["cat"], stdin=self.proc.stdout, stdout=subprocess.DEVNULL)
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(sink.pid, range(os.cpu_count() or 1))
        self.get("/health")
        return time.monotonic() - started


class Watcher(threading.Thread):
    """One dashboard: subscribes its three windows, then reads everything."""

    def __init__(self, port: int, anchor: str) -> None:
        super().__init__(daemon=True)
        self.ws = connect(f"ws://127.0.0.1:{port}/events", max_size=None).__enter__()
        self.ws.recv(30)
        for name in ("ready", "in_flight", "scheduled"):
            self.ws.send(json.dumps({
                "type": "subscribe", "list": name, "anchor": {"kind": anchor},
                "limit": LIMIT,
            }))
            snapshot = json.loads(self.ws.recv(30))
            assert "subscription_limit" not in snapshot["server"], "not licensed"
        self.messages = 0
        self.bytes = 0
        self.start()

    def run(self) -> None:
        try:
            while True:
                self.bytes += len(self.ws.recv())
                self.messages += 1
        except Exception:
            return

    def close(self) -> None:
        self.ws.close()


def throughput(seconds: int, rounds: int) -> dict:
    server = AdminBenchServer(quiet=True)
    server.start()
    try:
        results = {"none": [], "head": [], "tail": []}
        cpu = {"none": [], "head": [], "tail": []}
        seen = {}
        for _ in range(rounds):
            for case in ("none", "head", "tail"):
                watchers = [] if case == "none" else [
                    Watcher(server.admin_port, case) for _ in range(CLIENTS)
                ]
                result = enqueue.run(server, bulk=100, clients=16, seconds=seconds, h1=True)
                results[case].append(result["jobs_per_s"])
                cpu[case].append(result["cpu_ms_per_1k_jobs"])
                if watchers:
                    seen[case] = (
                        sum(w.messages for w in watchers) / CLIENTS,
                        sum(w.bytes for w in watchers) / CLIENTS,
                    )
                for watcher in watchers:
                    watcher.close()
                _reset(server)
        none = statistics.median(results["none"])
        none_cpu = statistics.median(cpu["none"])
        out = {"none_jobs_per_s": round(none), "none_cpu_ms_per_1k": round(none_cpu, 1)}
        for case in ("head", "tail"):
            median = statistics.median(results[case])
            median_cpu = statistics.median(cpu[case])
            messages, size = seen[case]
            out[f"{case}_jobs_per_s"] = round(median)
            out[f"{case}_ratio"] = round(median / none, 3)
            out[f"{case}_cpu_ms_per_1k"] = round(median_cpu, 1)
            # Throughput kept if the server's CPU per job were all that counted.
            out[f"{case}_cpu_ratio"] = round(none_cpu / median_cpu, 3)
            out[f"{case}_messages_per_client_last_round"] = round(messages)
            out[f"{case}_bytes_per_client_last_round"] = round(size)
        out["runs"] = results
        out["cpu_runs"] = cpu
        return out
    finally:
        server.close()


def _reset(server) -> None:
    request = urllib.request.Request(server.url + "/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=300).read()


def build_in_process() -> dict:
    from queue_core import feed
    from queue_core.options import EnqueueRequest
    from queue_core.store import Store

    async def body():
        root = tempfile.mkdtemp(prefix="zizq-bench-feed-")
        store = Store(os.path.join(root, "data"))
        store.recover()
        payload = json.dumps(job()["payload"]).encode()
        for start in range(0, MILLION, 10_000):
            requests = [
                EnqueueRequest("bench", f"q{i % 5}", payload, priority=(i % 3) * 100)
                for i in range(start, start + 10_000)
            ]
            await store.enqueue(requests)
        # The server's collector settings (serve/daphne.py _tune_gc).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        timings = []
        for _ in range(3):
            started, cpu = time.perf_counter(), time.process_time()
            ticker = asyncio.ensure_future(_longest_hold())
            await feed.attach(store).ready()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            ticker.cancel()
            timings.append((wall, cpu, await asyncio.gather(ticker, return_exceptions=True)))
            feed.detach(store)
        store.close()
        return timings

    timings = asyncio.run(body())
    return {
        "attach_wall_ms_at_1m_ready": [round(t[0] * 1000) for t in timings],
        "attach_cpu_ms_at_1m_ready": [round(t[1] * 1000) for t in timings],
        "attach_longest_loop_hold_ms": [t[2][0] for t in timings],
    }


async def _longest_hold() -> float:
    """Ticks the loop until cancelled; returns the longest gap between
    ticks in ms of the loop thread's CPU (how long the loop was held at a
    stretch, not counting time the busy machine gave to other processes)."""
    longest, last = 0.0, time.thread_time()
    try:
        while True:
            await asyncio.sleep(0)
            now = time.thread_time()
            longest, last = max(longest, now - last), now
    except asyncio.CancelledError:
        return round(longest * 1000, 1)


class Traffic(threading.Thread):
    """A producer (single enqueues) or a /health prober on its own connection,
    timing each request: what the job traffic sees while a client connects."""

    def __init__(self, port: int, path: str, body=None) -> None:
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path, self.body = path, body
        self.done = []  # (monotonic end time, seconds taken)
        self.running = True
        self.start()

    def run(self) -> None:
        method = "GET" if self.body is None else "POST"
        headers = {"content-type": "application/json"}
        while self.running:
            started = time.monotonic()
            self.connection.request(method, self.path, self.body, headers)
            self.connection.getresponse().read()
            end = time.monotonic()
            self.done.append((end, end - started))
            if self.body is None:
                time.sleep(0.005)

    def between(self, start: float, stop: float) -> list:
        return [taken for end, taken in self.done if start <= end < stop]


def build_end_to_end() -> dict:
    """Connect to the first snapshot at 1,000,000 ready jobs, while 4
    producers enqueue singles and a prober asks /health every 5 ms: the
    slowest /health answer and the producers' jobs/s from the connect to
    half a second after the snapshot, against the 2 s before the connect."""
    server = AdminBenchServer(quiet=True)
    server.start()
    try:
        body = {"jobs": [job() for _ in range(10_000)]}
        for _ in range(MILLION // 10_000):
            server.post("/jobs/bulk", body)
        single = json.dumps(job()).encode()
        rounds = []
        for _ in range(3):
            producers = [Traffic(server.port, "/jobs", single) for _ in range(4)]
            prober = Traffic(server.port, "/health")
            time.sleep(2)
            started = time.monotonic()
            with connect(f"ws://127.0.0.1:{server.admin_port}/events", max_size=None) as ws:
                snapshot = json.loads(ws.recv(120))
                connected = time.monotonic()
                time.sleep(0.5)
            stop = time.monotonic()
            for traffic in (*producers, prober):
                traffic.running = False
                traffic.join()
            assert snapshot["server"]["total_ready"] >= MILLION
            enqueued = lambda a, b: sum(len(p.between(a, b)) for p in producers)
            rounds.append({
                "first_snapshot_ms": round((connected - started) * 1000),
                "health_max_ms_before": round(max(prober.between(started - 2, started)) * 1000, 1),
                "health_max_ms_connecting": round(max(prober.between(started, stop)) * 1000, 1),
                "enqueue_per_s_before": round(enqueued(started - 2, started) / 2),
                "enqueue_per_s_connecting": round(enqueued(started, stop) / (stop - started)),
            })
            time.sleep(1)  # the feed is dropped when the last client leaves
        return {"connect_at_1m_ready": rounds}
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="*", default=["throughput", "build"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report = {}
    if "throughput" in args.cases:
        report["throughput"] = throughput(args.seconds, args.rounds)
    if "build" in args.cases:
        report["build"] = {**build_in_process(), **build_end_to_end()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
