"""Folding enqueues against plain ones, in the same run (issue 22's goal).

    .venv/bin/python bench/batch.py [--rounds 3] [--requests 3200]

Two kinds of single enqueue over 16 connections: ``plain`` jobs, and
``fold``: the spec's push-notification example (API.md 7.2.5) into one
batch key, each request with a device id of its own, so every 100th
enqueue seals the target and starts the next and the rest fold (payloads
grow to 100 ids). A pro licence is minted for the run (bench/unique.py's
``licence_flags``); bodies are rendered before the clock starts and sent
by ``workers.Connection`` over raw sockets.

The kinds run in paired timed rounds on one server pinned to core 0 (its
jq workers inherit the pin; load on core 1), the order alternated each
round; the medians of requests/s and of CPU per request, the server's and
its jq workers', are printed. The goal: folds >= 2,000/s.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import orjson

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import CLK_TCK, BenchServer, job
from run import pin_to_load_core, run_async
from unique import licence_flags, send

KINDS = ("plain", "fold")
WHEN = "(($existing | .device_ids) + ($new | .device_ids)) | length <= 100"
FOLD = "$existing | .device_ids += ($new | .device_ids)"


def bodies_of(kind: str, count: int, first: int) -> list:
    if kind == "plain":
        return [orjson.dumps(job()) for _ in range(count)]
    batch = {"key": "push:apple", "when": WHEN, "fold": FOLD}
    return [
        orjson.dumps(
            {
                "queue": "push",
                "type": "push.notifications",
                "payload": {"device_ids": [f"d{n}"], "platform": "apple"},
                "batch": batch,
            }
        )
        for n in range(first, first + count)
    ]


def jq_cpu_seconds(pid: int) -> float:
    """CPU time of the server's live child processes (its jq workers)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in f.read().split():
                try:
                    with open(f"/proc/{child}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except FileNotFoundError:
                    continue
                total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def timed(rounds: int, requests: int) -> None:
    pin_to_load_core()
    with tempfile.TemporaryDirectory() as directory:
        server = BenchServer(*licence_flags(directory), quiet=True)
        results = {kind: [] for kind in KINDS}
        sent = 0
        try:
            server.start()
            for r in range(rounds + 1):  # round 0 warms up
                order = KINDS if r % 2 else KINDS[::-1]
                for kind in order:
                    bodies = bodies_of(kind, requests, sent)
                    sent += requests
                    cpu = server.cpu_seconds()
                    jq = jq_cpu_seconds(server.proc.pid)
                    started = time.monotonic()
                    run_async(send(server.port, "/jobs", bodies))
                    took = time.monotonic() - started
                    cpu = server.cpu_seconds() - cpu
                    jq = jq_cpu_seconds(server.proc.pid) - jq
                    if r:
                        results[kind].append(
                            (requests / took, cpu / requests * 1e6, jq / requests * 1e6)
                        )
        finally:
            server.close()
    plain = statistics.median(x[0] for x in results["plain"])
    for kind in KINDS:
        rate, cpu, jq = (
            statistics.median(x[i] for x in results[kind]) for i in range(3)
        )
        print(
            f"{kind:5s} {rate:7.0f} enqueues/s  {cpu:6.1f} us server CPU"
            f"  {jq:6.1f} us jq CPU an enqueue  {rate / plain:5.0%} of plain",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3200)
    args = parser.parse_args()
    timed(args.rounds, args.requests)


if __name__ == "__main__":
    main()
