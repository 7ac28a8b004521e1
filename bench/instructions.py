"""Server instructions per job under callgrind: a repeatable A/B measure.

    .venv/bin/python bench/instructions.py [--info | --both] [table] [CASE ...]

This machine is shared, and jobs/s or even CPU time per job move by 2x
between identical runs. Valgrind's callgrind counts the instructions the
server executes instead, which do not depend on what else the machine is
doing: two builds compared this way differ only by what changed. It counts
user-space instructions only (system calls are not included) and runs the
server ~50x slower, so it measures cost, never throughput or latency.

Each case is counted after a warm-up, between ``callgrind_control -z`` and
``-d``: single enqueues (HTTP/1.1 or h2c, 16 connections), bulk enqueues of
100, a drain with 16 workers, and the latency scenario's round trip (one
producer, one waiting stream, an ack per job: everything the server does
for a job when nothing else is going on). ``table`` is issue 24's table:
``enqueue``, ``ack`` (``POST /jobs/{id}/success``, ids taken beforehand by
an open stream) and ``get`` (``GET /jobs/{id}``), each ``-h1``, ``-h2c``
(h2load's shape) and ``-h2c2w`` (the official clients' two-write shape,
bench/h2_client.py), at ``-1`` and ``-16`` connections; ``bulk-h2c`` and
``drain-h2c`` are bulk and drain over h2c. ``single`` and ``h2c`` stay the
16-connection enqueues.

The server logs at ``warn`` unless ``--info`` is given: then at the default
``info``, one request record per request in the json format (to a pipe);
``--both`` counts every case on a ``warn`` server, then on an ``info`` one.
"""

import asyncio
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workers  # noqa: E402
from common import BenchServer, job  # noqa: E402
from h2_client import H2Client, H2TakeStream  # noqa: E402
from run import _loop  # noqa: E402

CLIENTS = 16
SINGLE = 1600  # HTTP/1.1 single requests per case (h2c: half, it costs more)
ACKS = 800


def h2load(
    port: int, path: str, body, requests: int, h1: bool = True, clients: int = CLIENTS
) -> None:
    argv = ["h2load", "-c", str(clients), "-m", "1", "-n", str(requests)]
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        if body is not None:
            f.write(json.dumps(body).encode())
            f.flush()
            argv += ["-d", f.name, "-H", "content-type: application/json"]
        argv += (["--h1"] if h1 else []) + [f"http://127.0.0.1:{port}{path}"]
        out = subprocess.run(argv, capture_output=True, text=True).stdout
    if f"{requests} succeeded" not in out:
        raise RuntimeError(f"h2load saw failures:\n{out}")


async def h1_ack(conn: workers.Connection, job_id: str) -> int:
    conn.writer.write(
        f"POST /jobs/{job_id}/success HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n"
        .encode()
    )
    return (await conn._response())[0]


async def h2_ack(conn: H2Client, job_id: str) -> int:
    return (await conn.request(b"POST", f"/jobs/{job_id}/success"))[0]


async def spread(port: int, clients: int, ids: list, opener, send, expect: int) -> None:
    """``send(conn, id)`` for every id, over ``clients`` connections in turn."""

    async def one(mine: list) -> None:
        conn = await opener(port)
        for item in mine:
            status = await send(conn, item)
            if status != expect:
                raise RuntimeError(f"status {status}, expected {expect}")
        conn.close()

    await asyncio.gather(*(one(ids[i::clients]) for i in range(clients)))


async def open_h1(port: int) -> workers.Connection:
    return await workers.Connection(port).open()


def open_h2(shape: str):
    async def opener(port: int) -> H2Client:
        return await H2Client(port, shape).open()

    return opener


async def h2_enqueue(conn: H2Client, _) -> int:
    return (await conn.post("/jobs", job()))[0]


class InFlight:
    """Jobs taken by an open HTTP/1.1 stream, for the ack cases to ack."""

    def __init__(self, port: int) -> None:
        self.port, self.stream, self.ids = port, None, []

    async def take(self, count: int) -> None:
        await workers.preload(self.port, count, queue="acks")
        self.stream = await workers.TakeStream(
            self.port, f"queue=acks&prefetch={count}"
        ).open()
        while len(self.ids) < count:
            self.ids += [found["id"] for found in await self.stream.jobs()]

    def release(self) -> None:
        self.stream.close()
        self.ids = []


class CountedServer(BenchServer):
    """A BenchServer under callgrind, with counting switched per case."""

    def __init__(self, quiet: bool = True) -> None:
        self.dumps = tempfile.mkdtemp(prefix="zizq-callgrind-")
        prefix = [
            "valgrind", "--tool=callgrind", "--dump-instr=no",
            f"--callgrind-out-file={self.dumps}/cg.%p",
        ]
        super().__init__(quiet=quiet, prefix=prefix)

    def count(self, work) -> int:
        """Instructions the server executes while ``work()`` runs."""
        pid = str(self.proc.pid)
        subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)
        work()
        subprocess.run(["callgrind_control", "-d", pid], capture_output=True, check=True)
        newest = max(glob.glob(f"{self.dumps}/cg.*"), key=os.path.getmtime)
        with open(newest) as f:
            found = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
        return int(found.group(1))

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.dumps, ignore_errors=True)


def cases(port: int, loop, job_id: str) -> dict:
    """name -> (requests or jobs, set-up not counted, counted work)."""
    flight = InFlight(port)

    def nothing() -> None:
        pass

    def run(coro_fn):
        return lambda: loop.run_until_complete(coro_fn())

    def ack(protocol: str, clients: int, shape: str = "h2load"):
        opener, send = (open_h1, h1_ack) if protocol == "h1" else (open_h2(shape), h2_ack)
        prepare = run(lambda: flight.take(ACKS))

        def work() -> None:
            loop.run_until_complete(
                spread(port, clients, flight.ids, opener, send, 204)
            )
            flight.release()

        return ACKS, prepare, work

    table = {
        "bulk": (
            4800, nothing, lambda: h2load(port, "/jobs/bulk", {"jobs": [job()] * 100}, 48)
        ),
        "bulk-h2c": (
            4800, nothing,
            lambda: h2load(port, "/jobs/bulk", {"jobs": [job()] * 100}, 48, h1=False),
        ),
        "drain": (
            4800,
            run(lambda: workers.preload(port, 4800)),
            run(lambda: workers.drain(port, CLIENTS, 64, 4800)),
        ),
        "drain-h2c": (
            4800,
            run(lambda: workers.preload(port, 4800)),
            run(lambda: workers.drain(port, CLIENTS, 64, 4800, H2TakeStream, H2Client)),
        ),
        # 40 jobs/s for 10 s: slow enough for the server under callgrind.
        "latency": (
            400, nothing, run(lambda: workers.latency(port, 40, 10))
        ),
    }
    for clients in (1, CLIENTS):
        for protocol in ("h1", "h2c"):
            h1 = protocol == "h1"
            n = SINGLE if h1 else SINGLE // 2
            table[f"enqueue-{protocol}-{clients}"] = (
                n, nothing,
                lambda n=n, h1=h1, c=clients: h2load(port, "/jobs", job(), n, h1, c),
            )
            table[f"ack-{protocol}-{clients}"] = ack(protocol, clients)
            table[f"get-{protocol}-{clients}"] = (
                n, nothing,
                lambda n=n, h1=h1, c=clients: h2load(port, f"/jobs/{job_id}", None, n, h1, c),
            )
        ids = list(range(SINGLE // 2))
        table[f"enqueue-h2c2w-{clients}"] = (
            len(ids), nothing,
            run(lambda c=clients: spread(port, c, ids, open_h2("client"), h2_enqueue, 201)),
        )
        table[f"ack-h2c2w-{clients}"] = ack("h2c", clients, "client")
    table["single"] = table[f"enqueue-h1-{CLIENTS}"]
    table["h2c"] = table[f"enqueue-h2c-{CLIENTS}"]
    return table


# The table: single enqueue, ack and GET over HTTP/1.1 and h2c (and
# the official clients' two-write shape, h2c2w) at 1 and 16 connections.
TABLE = [
    f"{kind}-{protocol}-{clients}"
    for kind in ("enqueue", "ack", "get")
    for clients in (1, CLIENTS)
    for protocol in ("h1", "h2c", "h2c2w")
    if not (kind == "get" and protocol == "h2c2w")
]


def measure(info: bool, wanted: list) -> dict:
    """name -> instructions per request (or job) on one server."""
    server = CountedServer(quiet=not info)
    loop = _loop()
    found = {}
    try:
        server.start(timeout=600)
        # Warm-up: imports, caches and first-use paths are not counted.
        h2load(server.port, "/jobs", job(), 200)
        h2load(server.port, "/jobs", job(), 200, h1=False)
        h2load(server.port, "/jobs/bulk", {"jobs": [job()] * 100}, 16)
        loop.run_until_complete(workers.drain(server.port, CLIENTS, 64, 2000))
        table = cases(server.port, loop, server.post("/jobs", job())["id"])
        for name in ("ack-h1-16", "ack-h2c2w-16", "enqueue-h2c2w-16"):  # warm-up
            _, setup, work = table[name]
            setup()
            work()
        for name in wanted:
            jobs, setup, work = table[name]
            setup()
            started = time.monotonic()
            found[name] = server.count(work) / jobs
            took = time.monotonic() - started
            level = "info" if info else "warn"
            print(f"{name:17s} {level} {found[name] / 1000:8.1f} k instructions  ({took:.0f} s)")
    finally:
        loop.close()
        server.close()
    return found


def print_table(levels: dict) -> None:
    """Per request, k instructions; h2c and h2c2w also as a ratio to h1."""
    print(f"{'case':14s} " + " ".join(f"{level:>15s}" for level in levels))
    for name in TABLE:
        kind, protocol, clients = name.split("-")
        cells = []
        for found in levels.values():
            if name not in found:
                continue
            cell = f"{found[name] / 1000:.1f}k"
            base = found.get(f"{kind}-h1-{clients}")
            if protocol != "h1" and base:
                cell += f" {found[name] / base:.2f}x"
            cells.append(f"{cell:>15s}")
        print(f"{name:14s} " + " ".join(cells))


def main() -> None:
    args = sys.argv[1:]
    levels = ["info", "warn"] if "--both" in args else ["info" if "--info" in args else "warn"]
    wanted = [arg for arg in args if not arg.startswith("--")] or ["single", "bulk", "drain"]
    if "table" in wanted:
        wanted = [w for w in wanted if w != "table"] + TABLE
    for tool in ("valgrind", "callgrind_control", "h2load"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install valgrind nghttp2-client")
    found = {level: measure(level == "info", wanted) for level in levels}
    if any(name in TABLE for name in wanted):
        print_table(found)


if __name__ == "__main__":
    main()
