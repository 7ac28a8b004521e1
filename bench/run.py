"""Run the issue-5 benchmarks; print one table and write JSON.

    .venv/bin/python bench/run.py [--runs 3] [--only enqueue,drain,...] [--quick]

Each scenario starts a fresh server pinned to core 0 with a temporary root
directory (load on core 1), runs ``--runs`` times and reports the median.
Scenarios: single and bulk enqueue (1 and 16 producers, HTTP/1.1 and h2c),
drain of 20,000 preloaded jobs (16 workers and 1), end-to-end latency at
200 jobs/s, the same under ``--default-commit-mode fsync``, and restart
time, memory and list/count query times with 1,000,000 stored jobs.
Every run also records ``steal_pct``, the share of the machine's CPU time
the hypervisor gave to other tenants during it: on a shared VM that is
what moves the numbers between identical runs.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import enqueue  # noqa: E402
import workers  # noqa: E402
from common import BenchServer, machine_ticks, steal_pct  # noqa: E402

FSYNC = ("--default-commit-mode", "fsync")


def _loop():
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def run_async(coro):
    loop = _loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def with_server(flags, body):
    server = BenchServer(*flags)
    try:
        server.start()
        return body(server)
    finally:
        server.close()


def enqueue_case(bulk, clients, h1, seconds, flags=()):
    def body(server):
        return enqueue.run(server, bulk=bulk, clients=clients, seconds=seconds, h1=h1)

    return lambda: with_server(flags, body)


def drain_case(workers_n, total, flags=()):
    prefetch = max(1, min(1024 // workers_n, 256))

    def body(server):
        run_async(workers.preload(server.port, total))
        cpu = server.cpu_seconds()
        seconds = run_async(workers.drain(server.port, workers_n, prefetch, total))
        cpu = server.cpu_seconds() - cpu
        return {
            "jobs_per_s": total / seconds,
            "cpu_ms_per_1k_jobs": cpu * 1000 / total * 1000,
        }

    return lambda: with_server(flags, body)


def latency_case(seconds, flags=()):
    def body(server):
        return run_async(workers.latency(server.port, 200, seconds))

    return lambda: with_server(flags, body)


def restart_case(total):
    def run():
        server = BenchServer(quiet=True)
        try:
            server.start()
            run_async(workers.preload(server.port, total))
            server.stop()
            seconds = server.start()
            result = {"restart_s": seconds, "rss_mib": server.rss_mib()}
            result.update(query_timings(server))
            return result
        finally:
            server.close()

    return run


QUERIES = {
    "list_ms": "/jobs?queue=bench&status=ready&limit=50",
    "list_last_page_ms": "/jobs?queue=bench&status=ready&limit=50&order=desc",
    "count_all_ms": "/jobs/count",
    "count_ready_ms": "/jobs/count?status=ready",
    "count_priority_ms": "/jobs/count?priority=0..10",
}


def query_timings(server) -> dict:
    """Milliseconds per query against the stored jobs (median of 5)."""
    timings = {}
    for name, path in QUERIES.items():
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            server.get(path)
            samples.append((time.perf_counter() - started) * 1000)
        timings[name] = statistics.median(samples)
    return timings


def scenarios(quick: bool) -> list:
    secs = 3 if quick else 6
    total = 5_000 if quick else 20_000
    million = 100_000 if quick else 1_000_000
    return [
        ("enqueue", "single h1 x1", enqueue_case(0, 1, True, secs)),
        ("enqueue", "single h1 x16", enqueue_case(0, 16, True, secs)),
        ("enqueue", "single h2c x1", enqueue_case(0, 1, False, secs)),
        ("enqueue", "single h2c x16", enqueue_case(0, 16, False, secs)),
        ("enqueue", "bulk100 h1 x1", enqueue_case(100, 1, True, secs)),
        ("enqueue", "bulk100 h1 x16", enqueue_case(100, 16, True, secs)),
        ("drain", "drain 16 workers", drain_case(16, total)),
        ("drain", "drain 1 worker", drain_case(1, total)),
        ("latency", "latency 200/s", latency_case(secs)),
        ("fsync", "fsync single h1 x16", enqueue_case(0, 16, True, secs, FSYNC)),
        ("fsync", "fsync bulk100 h1 x16", enqueue_case(100, 16, True, secs, FSYNC)),
        ("fsync", "fsync drain 16 workers", drain_case(16, total, FSYNC)),
        ("fsync", "fsync latency 200/s", latency_case(secs, FSYNC)),
        ("restart", f"restart {million:,} jobs", restart_case(million)),
    ]


def pin_to_load_core() -> None:
    """Run this process's clients (drain, latency) on core 1, beside the server.

    h2load is pinned by ``enqueue``; the asyncio workers run here.
    """
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {1})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="comma list of groups")
    parser.add_argument("--quick", action="store_true", help="smaller, shorter runs")
    parser.add_argument("--out", default=os.path.join("bench", "results"))
    args = parser.parse_args()
    only = {g for g in args.only.split(",") if g}
    pin_to_load_core()
    results = {}
    for group, name, case in scenarios(args.quick):
        if only and group not in only:
            continue
        runs = [_measured(case) for _ in range(1 if group == "restart" else args.runs)]
        results[name] = {
            key: statistics.median(run[key] for run in runs) for key in runs[0]
        }
        results[name]["runs"] = runs
        print(f"{name:26s} " + _row(results[name]), flush=True)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, time.strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nmedians of {args.runs} run(s); JSON written to {path}")


def _measured(case) -> dict:
    """One run of a case, with the share of CPU time the host stole meanwhile."""
    before = machine_ticks()
    result = case()
    result["steal_pct"] = steal_pct(before, machine_ticks())
    return result


def _row(result: dict) -> str:
    parts = []
    for key, value in result.items():
        if key != "runs":
            parts.append(f"{key}={value:,.2f}")
    return "  ".join(parts)


if __name__ == "__main__":
    main()
