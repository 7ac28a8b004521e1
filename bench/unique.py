"""Unique jobs against plain ones, in the same run (issue 20's speed goal).

    .venv/bin/python bench/unique.py [--instructions] [--rounds 3] [--only single,bulk]
        [--kinds plain,new,dup50]

Three kinds of enqueue, single (16 connections) and bulk (100 a request):
``plain`` jobs, ``new`` unique jobs (every key fresh) and ``dup50`` (half
the keys already held by a job enqueued before the round, half fresh). A
pro licence is minted for the run (a throwaway issuer trusted with
``--license-public-key``, as the tests do). Every request has a body of
its own, so the load is sent by ``workers.Connection`` over raw sockets,
bodies rendered before the clock starts; h2load sends one body only.

``--instructions`` counts the server's instructions per job under
callgrind (bench/instructions.py's ``CountedServer``): repeatable, and what
the goal is decided on. Without it the kinds run in paired timed rounds on
one server pinned to core 0 (load on core 1), the order rotated each round,
and the medians of jobs/s and server CPU per job are printed: the goal is
unique >= 85% of plain for single requests and >= 70% for bulk.

Measured 2026-12-02 (commit 2adbc1c), instructions a job, plain / new /
dup50: single 241.4k / 265.4k / 257.9k (91% and 94% of plain), bulk
22.9k / 36.4k / 33.5k (63% and 68%: short of the goal); before unique
jobs (14fb6fb) plain was 236.1k single, 22.9k bulk. Timed at load ~2:
single 4,730 / 4,231 / 4,234 jobs/s (148 / 169 / 166 us CPU a job), bulk
105,110 / 58,383 / 66,442 jobs/s (8.3 / 16.1 / 14.7 us). After c2ee0a0
(the compiled bulk renderer takes the duplicate flags and copies each
confirmation's part before its key): bulk 22.9k / 34.9k / 32.8k (66% and
70%, just under: 69.8%). After 1e43ec3 (Plan and claim compiled), each
kind over 3 rotating rounds: bulk 23.2k / 30.9k / 30.8k (75% and 75%),
against 23.3k / 34.7k / 32.9k before in the same run; single 237.2k /
255.0k / 254.1k (93% and 93%).
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workers
from common import BenchServer, job
from run import pin_to_load_core, run_async

CLIENTS = 16
KINDS = ("plain", "new", "dup50")
SHAPES = {"single": (1, 1600), "bulk": (100, 4800)}  # jobs a request, jobs a case


def licence_flags(directory: str) -> list:
    """``-k`` and ``--license-public-key`` for a pro key of a fresh issuer."""
    private = Ed25519PrivateKey.generate()
    path = os.path.join(directory, "issuer.pem")
    with open(path, "wb") as f:
        f.write(
            private.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
        )
    claims = {
        "sub": "bench",
        "name": "bench",
        "tier": "pro",
        "exp": int(time.time()) + 86_400,
    }
    return [
        "-k",
        jwt.encode(claims, private, algorithm="EdDSA"),
        "--license-public-key",
        path,
    ]


class Keys:
    """Key names that never repeat across the cases of one server."""

    def __init__(self) -> None:
        self.n = 0

    def fresh(self, count: int) -> list:
        self.n += count
        return [f"key-{i}" for i in range(self.n - count, self.n)]


def jobs_of(kind: str, total: int, keys: Keys) -> tuple:
    """``(jobs to hold keys first, jobs of the case)`` for one kind."""
    if kind == "plain":
        return [], [job() for _ in range(total)]
    if kind == "new":
        return [], [job(unique_key=k) for k in keys.fresh(total)]
    held = [job(unique_key=k) for k in keys.fresh(total // 2)]
    fresh = [job(unique_key=k) for k in keys.fresh(total - total // 2)]
    mixed = [j for pair in zip(held, fresh) for j in pair]
    return held, mixed


def requests_of(jobs: list, bulk: int) -> tuple:
    """``(path, bodies)``: one job a body, or ``{"jobs": [...]}`` of ``bulk``."""
    if bulk == 1:
        return "/jobs", [orjson.dumps(j) for j in jobs]
    chunks = [jobs[i : i + bulk] for i in range(0, len(jobs), bulk)]
    return "/jobs/bulk", [orjson.dumps({"jobs": c}) for c in chunks]


async def send(port: int, path: str, bodies: list) -> None:
    """Every body, over ``CLIENTS`` keep-alive connections, one at a time each."""

    async def client(mine: list) -> None:
        conn = await workers.Connection(port).open()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            "content-length: "
        ).encode()
        for body in mine:
            conn.writer.write(b"%s%d\r\n\r\n%s" % (head, len(body), body))
            status, answer = await conn._response()
            assert status in (200, 201), (status, answer)
        conn.writer.close()

    await asyncio.gather(*(client(bodies[i::CLIENTS]) for i in range(CLIENTS)))


def prepare(port: int, kind: str, shape: str, keys: Keys, total: int = 0) -> tuple:
    """Hold the case's duplicate keys (unmeasured); its path and bodies."""
    bulk = SHAPES[shape][0]
    held, jobs = jobs_of(kind, total or SHAPES[shape][1], keys)
    if held:
        run_async(send(port, *requests_of(held, 100)))
    return requests_of(jobs, bulk)


def count_instructions(shapes: list, kinds: list) -> None:
    from instructions import CountedServer

    with tempfile.TemporaryDirectory() as directory:
        server = CountedServer()
        server.flags += licence_flags(directory)
        keys = Keys()
        try:
            server.start(timeout=600)
            for shape in shapes:  # warm-up: first-use paths are not counted
                for kind in kinds:
                    run_async(
                        send(server.port, *prepare(server.port, kind, shape, keys))
                    )
            for shape in shapes:
                for kind in kinds:
                    path, bodies = prepare(server.port, kind, shape, keys)
                    count = server.count(
                        lambda p=path, b=bodies: run_async(send(server.port, p, b))
                    )
                    per_job = count / SHAPES[shape][1] / 1000
                    print(
                        f"{shape:6s} {kind:5s} {per_job:8.1f} k instructions/job",
                        flush=True,
                    )
        finally:
            server.close()


def timed(shapes: list, rounds: int) -> None:
    pin_to_load_core()
    with tempfile.TemporaryDirectory() as directory:
        server = BenchServer(*licence_flags(directory), quiet=True)
        keys = Keys()
        results = {(s, k): [] for s in shapes for k in KINDS}
        try:
            server.start()
            for r in range(rounds + 1):  # round 0 warms up
                for shape in shapes:
                    order = KINDS[r % 3 :] + KINDS[: r % 3]
                    for kind in order:
                        jobs = SHAPES[shape][1] * (10 if shape == "bulk" else 2)
                        path, bodies = prepare(server.port, kind, shape, keys, jobs)
                        cpu = server.cpu_seconds()
                        started = time.monotonic()
                        run_async(send(server.port, path, bodies))
                        took = time.monotonic() - started
                        if r:
                            results[(shape, kind)].append(
                                (jobs / took, (server.cpu_seconds() - cpu) / jobs * 1e6)
                            )
        finally:
            server.close()
    for shape in shapes:
        plain = statistics.median(x[0] for x in results[(shape, "plain")])
        for kind in KINDS:
            rate = statistics.median(x[0] for x in results[(shape, kind)])
            cpu = statistics.median(x[1] for x in results[(shape, kind)])
            print(
                f"{shape:6s} {kind:5s} {rate:9.0f} jobs/s  {cpu:6.1f} us CPU/job"
                f"  {rate / plain:5.0%} of plain",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="single,bulk")
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    shapes = args.only.split(",")
    if args.instructions:
        count_instructions(shapes, args.kinds.split(","))
    else:
        timed(shapes, args.rounds)


if __name__ == "__main__":
    main()
