"""Benchmark of the client against this repository's server: enqueue one
at a time and in bulk, and workers draining no-op jobs.

    .venv/bin/python client/bench/run.py [--jobs 100000] [--only enqueue,bulk,drain]

Starts a real ``zizq serve`` on a temporary root. Enqueue figures are jobs
per second and the client's own CPU per job (``time.process_time`` of this
process: what the client library costs, apart from the server). Drains
enqueue ``--jobs`` no-op jobs in bulk first, then time a worker from start
until the server counts no jobs left. The machine's load average is
printed with every figure: on a shared machine it moves them.
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import noop  # noqa: E402

import zizq_client as zizq  # noqa: E402
from zizq_client.testing.server import ZizqServer  # noqa: E402


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def report(name: str, jobs: int, wall: float, cpu: float | None = None) -> None:
    line = f"{name:42s} {jobs / wall:10,.0f} jobs/s"
    if cpu is not None:
        line += f"  client CPU {cpu / jobs * 1e6:6.1f} us/job"
    print(f"{line}  ({load()})", flush=True)


def raw_baseline(url: str, count: int) -> None:
    """The same enqueue over a bare socket: the floor (kernel and server
    time) that the client's figures include."""
    import msgpack

    port = int(url.rsplit(":", 1)[1])
    body = msgpack.packb(noop.noop.params(0))
    request = (
        "POST /jobs HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\n"
        f"accept: application/msgpack\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            sock.sendall(request)
            sock.recv(65536)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    report("enqueue single, bare socket (no client)", count, wall, cpu)


def enqueue_single(url: str, count: int) -> None:
    raw_baseline(url, count)
    for fmt in ("msgpack", "json"):
        with zizq.Client(url=url, format=fmt, timeout=120) as client:
            params = noop.noop.params(0)
            for _ in range(200):
                client.enqueue_params(params)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                client.enqueue_params(params)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            report(f"enqueue single, sync, {fmt}, HTTP/1.1", count, wall, cpu)
            client.reset()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_enqueue_async(url, count))


def _loop_factory():
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _enqueue_async(url: str, count: int) -> None:
    async with zizq.AsyncClient(url=url, timeout=120) as client:
        params = noop.noop.params(0)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            await client.enqueue_params(params)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        report("enqueue single, async (uvloop), msgpack, HTTP/1.1", count, wall, cpu)
        await client.reset()


def fill(client, count: int, job) -> None:
    for start in range(0, count, 1000):
        client.enqueue_bulk(
            [job.params(n) for n in range(start, min(count, start + 1000))]
        )


def enqueue_bulk(url: str, count: int) -> None:
    for http2 in (False, True):
        with zizq.Client(url=url, http2=http2, timeout=120) as client:
            wall, cpu = time.perf_counter(), time.process_time()
            fill(client, count, noop.noop)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            name = "h2c" if http2 else "HTTP/1.1"
            report(f"enqueue bulk of 1,000, msgpack, {name}", count, wall, cpu)
            client.reset()


def wait_empty(client) -> float:
    while client.count(queue="bench"):
        time.sleep(0.05)
    return time.perf_counter()


def drain_in_process(url: str, count: int, job, name: str, **options) -> None:
    with zizq.Client(url=url, timeout=120) as client:
        fill(client, count, job)
        worker = zizq.Worker(url=url, queues=["bench"], handle_signals=False, **options)
        start = time.perf_counter()
        thread = threading.Thread(target=worker.run)
        thread.start()
        wall = wait_empty(client) - start
        worker.stop()
        thread.join()
        report(name, count, wall)


def drain_processes(url: str, count: int, processes: int, job_type: str) -> None:
    with zizq.Client(url=url, timeout=120) as client:
        fill(client, count, noop.anoop if job_type == "async" else noop.noop)
        command = [
            sys.executable,
            "-m",
            "zizq_client.worker.cli",
            "noop",
            "--url",
            url,
            "-q",
            "bench",
            "--processes",
            str(processes),
            "--log-level",
            "warning",
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=HERE, env=dict(os.environ, PYTHONPATH=HERE)
        )
        wall = wait_empty(client) - start
        proc.terminate()
        proc.wait(30)
        report(f"drain, {processes} processes, {job_type} no-op", count, wall)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--enqueues", type=int, default=5_000)
    parser.add_argument("--only", default="enqueue,bulk,drain")
    options = parser.parse_args()
    only = set(options.only.split(","))
    # The server logs every request at info; this process would parse those
    # lines (ZizqServer reads the log) and count their CPU as the client's.
    os.environ.setdefault("ZIZQ_LOG_FILTER", "info,zizq::api::primary=warn")
    with ZizqServer() as server:
        url = server.url
        if "enqueue" in only:
            enqueue_single(url, options.enqueues)
        if "bulk" in only:
            enqueue_bulk(url, options.jobs)
        if "drain" in only:
            drain_in_process(
                url, options.jobs, noop.anoop, "drain, 1 process, async no-op"
            )
            drain_in_process(
                url, options.jobs, noop.noop, "drain, 1 process, sync no-op"
            )
            drain_processes(url, options.jobs, 4, "async")
            drain_processes(url, options.jobs, 4, "sync")


if __name__ == "__main__":
    main()
