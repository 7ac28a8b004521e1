"""Client instructions per enqueue and per drained job, under callgrind.

    .venv/bin/python client/bench/instructions.py [case ...]

Timed figures move by 2x on this shared machine; the instructions a client
executes do not. Each case runs twice under ``valgrind --tool=callgrind``
(user-space instructions of the whole client process, system calls not
included) with ``SMALL`` and ``LARGE`` operations against a native server,
and prints the difference divided by ``LARGE - SMALL``: start-up and
imports cancel out. Cases: ``bare`` (the enqueue as a hand-written request
over a socket: the floor), ``sync``/``json``/``h2``/``async`` (the client's
enqueue: msgpack over HTTP/1.1, JSON, HTTP/2, asyncio on uvloop),
``httpx`` (the same request through a stock ``httpx.Client``, what the
client used before its own HTTP/1.1 transport), and ``drain-async`` /
``drain-sync`` (a worker running no-op jobs).
"""

import asyncio
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import noop  # noqa: E402

import zizq_client as zizq  # noqa: E402

SMALL, LARGE = 300, 1500
CASES = ("bare", "httpx", "sync", "json", "h2", "async", "drain-async", "drain-sync")


def bare(url: str, count: int) -> None:
    import socket

    import msgpack

    body = msgpack.packb(noop.noop.params(0))
    request = (
        "POST /jobs HTTP/1.1\r\nhost: x\r\ncontent-type: application/msgpack\r\n"
        f"accept: application/msgpack\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for _ in range(count):
            sock.sendall(request)
            sock.recv(65536)


def with_httpx(url: str, count: int) -> None:
    import httpx
    import msgpack

    body = msgpack.packb(noop.noop.params(0))
    headers = {"content-type": "application/msgpack", "accept": "application/msgpack"}
    with httpx.Client(base_url=url) as client:
        for _ in range(count):
            msgpack.unpackb(client.post("/jobs", content=body, headers=headers).content)


def enqueue(url: str, count: int, **options) -> None:
    with zizq.Client(url=url, **options) as client:
        job = noop.noop.using(client=client)
        for _ in range(count):
            job.enqueue(0)


def enqueue_async(url: str, count: int) -> None:
    import uvloop

    async def run():
        async with zizq.AsyncClient(url=url) as client:
            job = noop.noop.using(client=client)
            for _ in range(count):
                await job.aenqueue(0)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())


def drain(url: str) -> None:
    with zizq.Client(url=url) as client:
        worker = zizq.Worker(url=url, queues=["bench"], handle_signals=False)
        thread = threading.Thread(target=worker.run)
        thread.start()
        while client.count(queue="bench"):
            time.sleep(0.2)
        worker.stop()
        thread.join()


def run_case(case: str, url: str, count: int) -> None:
    if case == "bare":
        bare(url, count)
    elif case == "httpx":
        with_httpx(url, count)
    elif case in ("sync", "json", "h2"):
        options = {"json": {"format": "json"}, "h2": {"http2": True}}.get(case, {})
        enqueue(url, count, **options)
    elif case == "async":
        enqueue_async(url, count)
    else:
        drain(url)


def counted(case: str, url: str, count: int) -> int:
    if case.startswith("drain"):
        with zizq.Client(url=url, timeout=120) as client:
            client.reset()
            job = noop.anoop if case == "drain-async" else noop.noop
            client.enqueue_bulk([job.params(n) for n in range(count)])
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--run",
        case,
        url,
        str(count),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=1200,
        env=dict(os.environ, PYTHONPATH=HERE),
    )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(done.stderr[-2000:])
    return int(match[1])


def main(cases) -> None:
    from zizq_client.testing.server import ZizqServer

    os.environ.setdefault("ZIZQ_LOG_FILTER", "info,zizq::api::primary=warn")
    with ZizqServer() as server:
        for case in cases:
            small = counted(case, server.url, SMALL)
            large = counted(case, server.url, LARGE)
            per = (large - small) / (LARGE - SMALL)
            unit = "job" if case.startswith("drain") else "enqueue"
            print(f"{case:12s} {per:12,.0f} instructions per {unit}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        run_case(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main(sys.argv[1:] or CASES)
