"""Workers and producers over raw asyncio sockets (HTTP/1.1 keep-alive).

A Python HTTP client library would cost more CPU than the server it is
measuring; these speak just enough HTTP/1.1 to drive ``GET /jobs/take``
streams, bulk acks and timed enqueues, on uvloop (run.py pins it to core 1).
"""

import asyncio
import statistics
import time

import orjson

from common import job


class Connection:
    """One keep-alive HTTP/1.1 connection for request/response calls."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def open(self) -> "Connection":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def post(self, path: str, body) -> tuple:
        data = orjson.dumps(body)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n"
        ).encode()
        self.writer.write(head + data)
        return await self._response()

    async def _response(self) -> tuple:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


class TakeStream:
    """A ``GET /jobs/take`` NDJSON stream yielding lists of jobs as they arrive."""

    def __init__(self, port: int, query: str) -> None:
        self.port, self.query = port, query
        self.pending = b""

    async def open(self) -> "TakeStream":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(f"GET /jobs/take?{self.query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await self.reader.readuntil(b"\r\n\r\n")
        return self

    async def jobs(self) -> list:
        """At least one job (heartbeats skipped), everything already received."""
        while True:
            size = int((await self.reader.readuntil(b"\r\n"))[:-2], 16)
            self.pending += (await self.reader.readexactly(size + 2))[:-2]
            if b"\n" in self.pending:
                lines, _, self.pending = self.pending.rpartition(b"\n")
                found = [orjson.loads(x) for x in lines.split(b"\n") if x]
                if found:
                    return found

    def close(self) -> None:
        self.writer.close()


async def preload(port: int, total: int, queue: str = "bench") -> None:
    conn = await Connection(port).open()
    for start in range(0, total, 1000):
        count = min(1000, total - start)
        status, _ = await conn.post("/jobs/bulk", {"jobs": [job(queue)] * count})
        assert status == 201, status


async def drain(
    port: int, workers: int, prefetch: int, total: int, take=None, acks=None
) -> float:
    """Seconds for ``workers`` streams with bulk acks to finish ``total`` jobs.

    ``take`` and ``acks`` are the stream and connection classes (HTTP/1.1's
    by default; bench/h2_client.py's for h2c).
    """
    take, acks = take or TakeStream, acks or Connection
    done = 0
    finished = asyncio.Event()

    async def worker() -> None:
        nonlocal done
        stream = await take(port, f"prefetch={prefetch}").open()
        acker = await acks(port).open()
        while not finished.is_set():
            try:
                batch = await asyncio.wait_for(stream.jobs(), 1.0)
            except asyncio.TimeoutError:
                continue
            status, _ = await acker.post("/jobs/success", {"ids": [j["id"] for j in batch]})
            assert status == 204, status
            done += len(batch)
            if done >= total:
                finished.set()
        stream.close()
        acker.close()

    started = time.monotonic()
    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    await finished.wait()
    elapsed = time.monotonic() - started
    await asyncio.gather(*tasks)
    return elapsed


async def latency(port: int, rate: int, seconds: float) -> dict:
    """Enqueue at ``rate``/s; time from send to receipt on a waiting stream."""
    stream = await TakeStream(port, "queue=latency&prefetch=0").open()
    producer = await Connection(port).open()
    acker = await Connection(port).open()
    samples = []
    count = int(rate * seconds)

    async def produce() -> None:
        start = time.perf_counter()
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = job("latency", payload={"sent": time.perf_counter()})
            status, _ = await producer.post("/jobs", body)
            assert status == 201

    async def consume() -> None:
        while len(samples) < count:
            for j in await stream.jobs():
                samples.append(time.perf_counter() - j["payload"]["sent"])
                await acker.post(f"/jobs/{j['id']}/success", None)

    await asyncio.gather(produce(), consume())
    stream.close()
    ms = sorted(s * 1000 for s in samples)
    return {
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[int(len(ms) * 0.99) - 1],
        "max_ms": ms[-1],
    }
