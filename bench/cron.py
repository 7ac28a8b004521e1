"""Cron scheduling: how exactly entries fire, and what a busy second costs.

    .venv/bin/python bench/cron.py [latency] [burst] [engine] [--seconds N] [--rounds N]

Both scenarios run one licensed server (test issuer) on core 0, otherwise
idle, with its default info-level log (one ``cron job enqueued`` line a
fire) drained by a sink; ``--quiet`` logs warnings only, which shows
what those lines cost.

``latency``: one ``* * * * * *`` entry, due at every whole second, for N
seconds. Reported per fire: the fire time past the whole second as the
server recorded it (the job's ``ready_at``, which is ``last_enqueue_at``),
and as a worker saw it: the wall clock when the job arrived on an open
take stream, past the same whole second (client and server share the
machine's clock). Goal: <= 50 ms.

``burst``: 10,000 entries of one group, all ``*/10 * * * * *`` (due at the
same second every 10 s). Per round: the spread of the fired jobs'
``ready_at`` past their whole second (all within it: max < 1000 ms), and
the server CPU of the burst against that of one ``POST /jobs/bulk`` of
10,000 jobs of the same template, sent between bursts. Both are every
thread's CPU (from /proc's nanosecond counters) over the same window, from
0.2 s before the due second or the request to 2 s after it, less what
the idle server spent in as long just before, so the work either leaves
to RocksDB's threads (flushes) counts alike. With ``--probe``, also what
the job API feels of each: a prober sends ``GET /health`` back to back
(5 ms apart) throughout, and the slowest answer during the burst and
during the bulk is reported. Goal: the burst costs the job API no more
than the bulk enqueue.

``engine``: the burst's firing without HTTP or a server: a ``Store`` in a
temporary directory on a fake clock, the same 10,000 entries fired in
passes of ``CRON_FIRE_BATCH_SIZE`` as the scheduler fires them, against
``Store.enqueue`` of 10,000 jobs of the same template, this process's CPU
per round (after two rounds of warm-up). It shows the store's share of
the burst, apart from the server's other threads and its log.
"""

import argparse
import functools
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import BenchServer, job, machine_ticks, steal_pct

BURST = 10_000
PERIOD_S = 10
IDLE_MARGIN_S = 0.2  # a CPU window opens this long before its second
WINDOW_S = 2  # and closes this long after it


def licensed_server(quiet: bool) -> BenchServer:
    from tests.zizq_server.licence.keys import Issuer

    issuer = Issuer()
    public = os.path.join(tempfile.mkdtemp(prefix="zizq-bench-key-"), "issuer.pem")
    with open(public, "wb") as f:
        f.write(issuer.public_pem())
    token = issuer.token(exp=int(time.time()) + 86_400)
    return BenchServer(
        "--license-key", token, "--license-public-key", public, quiet=quiet
    )


def request(server, method: str, path: str, body=None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    headers = {"content-type": "application/json"} if body is not None else {}
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    if response.status >= 300 and response.status != 404:
        raise RuntimeError(f"{method} {path}: {response.status} {raw[:200]!r}")
    return json.loads(raw) if raw else {}


# -- latency ---------------------------------------------------------------------


def latency(server, seconds: int) -> None:
    seen = []  # (ready_at % 1000, wall-clock arrival % 1000 of that second)
    stop = threading.Event()
    reader = threading.Thread(target=_take, args=(server, seen, stop), daemon=True)
    reader.start()
    time.sleep(0.5)
    request(
        server,
        "PUT",
        "/crons/latency",
        {
            "entries": [
                {
                    "name": "tick",
                    "expression": "* * * * * *",
                    "job": job("latency"),
                }
            ]
        },
    )
    time.sleep(seconds + 1.2)
    stop.set()
    request(server, "DELETE", "/crons/latency")
    reader.join(5)
    fired = [f for f, _ in seen]
    arrived = [a for _, a in seen]
    print(f"latency: {len(seen)} fires over {seconds} s")
    print(
        f"  fire past the second (server):  median {statistics.median(fired):.0f} ms,"
        f" max {max(fired)} ms"
    )
    print(
        f"  arrival at a worker:            median {statistics.median(arrived):.0f} ms,"
        f" max {max(arrived)} ms"
    )


def _take(server, seen: list, stop: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", "/jobs/take?queue=latency&prefetch=1000")
    response = conn.getresponse()
    while not stop.is_set():
        line = response.readline()
        if not line.strip():
            continue
        arrived_ms = time.time_ns() // 1_000_000
        ready_at = json.loads(line)["ready_at"]
        second = ready_at - ready_at % 1000
        seen.append((ready_at - second, arrived_ms - second))
    conn.close()


# -- burst -----------------------------------------------------------------------


def burst(server, rounds: int, probe: bool) -> None:
    entries = [
        {
            "name": f"e{i:05d}",
            "expression": f"*/{PERIOD_S} * * * * *",
            "job": job("burst"),
        }
        for i in range(BURST)
    ]
    request(server, "PUT", "/crons/burst", {"entries": entries})
    _sleep_until(time.time() // PERIOD_S * PERIOD_S + PERIOD_S + 0.5)
    request(server, "DELETE", "/jobs?queue=burst")  # the first burst, unmeasured
    bulk_body = {"jobs": [job("bulk") for _ in range(BURST)]}
    bulk = functools.partial(request, server, "POST", "/jobs/bulk", bulk_body)
    probes = []  # (sent at, seconds) of every /health answer
    stop = threading.Event()
    if probe:
        threading.Thread(
            target=_probe, args=(server, probes, stop), daemon=True
        ).start()
    results = []
    for _ in range(rounds):
        due_s = _next_due_second()
        ticks0 = machine_ticks()
        burst_cpu = _window_cpu(server, due_s)
        steal = steal_pct(ticks0, machine_ticks())
        newest = request(server, "GET", "/jobs?queue=burst&order=desc&limit=1")["jobs"]
        oldest = request(server, "GET", "/jobs?queue=burst&limit=1")["jobs"]
        count = request(server, "GET", "/jobs/count?queue=burst")["count"]
        spread = (
            oldest[0]["ready_at"] - due_s * 1000,
            newest[0]["ready_at"] - due_s * 1000,
        )
        burst_health = _slowest(probes, due_s - 0.5, due_s + WINDOW_S)
        request(server, "DELETE", "/jobs?queue=burst")
        sent = time.time() + 2.5  # after the deletion's compaction
        bulk_cpu = _window_cpu(server, sent, bulk)
        bulk_health = _slowest(probes, sent - 0.2, sent + WINDOW_S)
        request(server, "DELETE", "/jobs?queue=bulk")
        results.append(
            (count, spread, burst_cpu, bulk_cpu, steal, burst_health, bulk_health)
        )
        health = (
            f" slowest /health during burst {burst_health * 1000:.0f} ms,"
            f" during bulk {bulk_health * 1000:.0f} ms;"
            if probe
            else ""
        )
        print(
            f"  round: {count} fired, ready_at {spread[0]}..{spread[1]} ms past the"
            f" second; CPU burst {burst_cpu * 1000:.0f} ms, bulk {bulk_cpu * 1000:.0f}"
            f" ms;{health} steal {steal:.1f}%"
        )
    stop.set()
    burst_ms = statistics.median(r[2] for r in results) * 1000
    bulk_ms = statistics.median(r[3] for r in results) * 1000
    worst = max(r[1][1] for r in results)
    burst_stall = statistics.median(r[5] for r in results) * 1000
    bulk_stall = statistics.median(r[6] for r in results) * 1000
    health = f"; median slowest /health {burst_stall:.0f} vs {bulk_stall:.0f} ms"
    print(
        f"burst: {BURST} entries, latest fire {worst} ms past its second;"
        f" median CPU burst {burst_ms:.0f} ms vs bulk enqueue {bulk_ms:.0f} ms"
        f" ({burst_ms / bulk_ms:.2f}x){health if probe else ''}"
    )


def _window_cpu(server, at_s: float, act=None) -> float:
    """Server seconds of CPU over a window from ``IDLE_MARGIN_S`` before
    ``at_s`` to ``WINDOW_S`` after it, less the idle server's over as long
    just before; ``act()``, if given, runs at ``at_s`` (the burst needs
    none: the server acts on its own)."""
    _sleep_until(at_s - 1)
    idle0 = server.cpu_ns()
    _sleep_until(at_s - IDLE_MARGIN_S)
    cpu0 = server.cpu_ns()
    idle_rate = (cpu0 - idle0) / (1 - IDLE_MARGIN_S)  # ns a second, idle
    if act is not None:
        _sleep_until(at_s)
        act()
    _sleep_until(at_s + WINDOW_S)
    return (server.cpu_ns() - cpu0 - idle_rate * (WINDOW_S + IDLE_MARGIN_S)) / 1e9


def _probe(server, probes: list, stop: threading.Event) -> None:
    """``GET /health`` back to back on one connection: the job API's view."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    while not stop.is_set():
        sent = time.time()
        conn.request("GET", "/health")
        conn.getresponse().read()
        probes.append((sent, time.time() - sent))
        time.sleep(0.005)
    conn.close()


def _slowest(probes: list, start: float, end: float) -> float:
    return max((took for sent, took in probes if start <= sent <= end), default=0.0)


def _next_due_second() -> int:
    now = time.time()
    due = (int(now) // PERIOD_S + 1) * PERIOD_S
    return due if due - now > 2 else due + PERIOD_S


def engine(rounds: int) -> None:
    import asyncio

    asyncio.run(_engine(rounds))


async def _engine(rounds: int) -> None:
    from queue_core.clock import FakeClock
    from queue_core.cron import EntryDefinition
    from queue_core.defaults import CRON_FIRE_BATCH_SIZE
    from queue_core.options import EngineConfig, EnqueueRequest
    from queue_core.store import Store

    def template(queue: str) -> EnqueueRequest:
        return EnqueueRequest("tick", queue, b'{"n":1}')

    clock = FakeClock()
    with tempfile.TemporaryDirectory(prefix="zizq-bench-cron-") as root:
        store = Store(os.path.join(root, "data"), EngineConfig(), clock=clock)
        store.recover()
        entries = [
            EntryDefinition(f"e{i}", "*/10 * * * * *", "UTC", None, template("burst"))
            for i in range(BURST)
        ]
        await store.crons.put_group("g", None, entries)
        fires, bulks = [], []
        for _ in range(rounds + 2):
            clock.advance(PERIOD_S * 1000)
            started, fired = time.process_time_ns(), 0
            while runs := await store.crons.fire_due(CRON_FIRE_BATCH_SIZE):
                fired += sum(len(keys) for _, keys in runs)
            fires.append((time.process_time_ns() - started) / 1e6)
            assert fired == BURST, fired
            requests = [template("bulk") for _ in range(BURST)]
            started = time.process_time_ns()
            await store.enqueue(requests)
            bulks.append((time.process_time_ns() - started) / 1e6)
            print(f"  round: fires {fires[-1]:.1f} ms, enqueue {bulks[-1]:.1f} ms")
        store.close()
    fire_ms, bulk_ms = statistics.median(fires[2:]), statistics.median(bulks[2:])
    print(
        f"engine: {BURST} fires in process, median {fire_ms:.1f} ms vs "
        f"Store.enqueue {bulk_ms:.1f} ms ({fire_ms / bulk_ms:.2f}x)"
    )


def _sleep_until(at_s: float) -> None:
    delay = at_s - time.time()
    if delay > 0:
        time.sleep(delay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=["latency", "burst"])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="log warnings only: no 'cron job enqueued' lines (their cost apart)",
    )
    parser.add_argument(
        "--probe",
        action="store_true",
        help="burst: time /health throughout (its requests add to both CPU figures)",
    )
    args = parser.parse_args()
    if "engine" in args.scenarios:
        engine(args.rounds)
    if not {"latency", "burst"} & set(args.scenarios):
        return
    server = licensed_server(args.quiet)
    server.start()
    try:
        if "latency" in args.scenarios:
            latency(server, args.seconds)
        if "burst" in args.scenarios:
            burst(server, args.rounds, args.probe)
    finally:
        server.close()


if __name__ == "__main__":
    main()
