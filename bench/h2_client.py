"""A small h2c client for the benchmarks, in two request shapes.

h2load sends a request with a body as HEADERS and DATA(END_STREAM) in one
write. The official clients send HEADERS and DATA in one write, then an
empty DATA frame carrying END_STREAM in a second one, and never combine
frames of different streams in a write: the ``client`` shape here. Framing
is the ``h2`` package's (its cost is the client's, not the server's, which
is all bench/instructions.py counts); one connection carries one request at
a time, or one take stream, so reading needs no dispatcher.
"""

import asyncio

import h2.config
import h2.connection
import h2.events
import orjson

SHAPES = ("h2load", "client")


class H2Client:
    """One prior-knowledge h2c connection."""

    def __init__(self, port: int, shape: str = "h2load") -> None:
        self.port, self.shape = port, shape
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.status, self.body, self.ended = {}, {}, set()

    async def open(self) -> "H2Client":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.h2.initiate_connection()
        self.writer.write(self.h2.data_to_send())
        return self

    def _headers(self, method: str, path: str, body) -> list:
        headers = [(b":method", method), (b":scheme", b"http"), (b":path", path.encode())]
        headers.append((b":authority", b"127.0.0.1"))
        if body is not None:
            headers.append((b"content-type", b"application/json"))
        return headers

    def _send(self, method: bytes, path: str, body) -> int:
        sid = self.h2.get_next_available_stream_id()
        self.body[sid] = b""
        data = None if body is None else orjson.dumps(body)
        client = self.shape == "client"
        self.h2.send_headers(
            sid, self._headers(method, path, body), end_stream=data is None and not client
        )
        if data is not None:
            self.h2.send_data(sid, data, end_stream=not client)
        if client:
            self.writer.write(self.h2.data_to_send())
            self.h2.send_data(sid, b"", end_stream=True)
        self.writer.write(self.h2.data_to_send())
        return sid

    async def _pump(self) -> None:
        data = await self.reader.read(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                self.status[event.stream_id] = int(dict(event.headers)[b":status"])
            elif isinstance(event, h2.events.DataReceived):
                self.body[event.stream_id] += event.data
                self.h2.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id
                )
            elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                self.ended.add(event.stream_id)
        self.writer.write(self.h2.data_to_send())

    async def request(self, method: bytes, path: str, body=None) -> tuple:
        """``(status, body)`` of one request."""
        sid = self._send(method, path, body)
        while sid not in self.ended:
            await self._pump()
        self.ended.discard(sid)
        return self.status.pop(sid, 0), self.body.pop(sid)

    async def post(self, path: str, body) -> tuple:
        return await self.request(b"POST", path, body)

    def close(self) -> None:
        self.writer.close()


class H2TakeStream(H2Client):
    """A ``GET /jobs/take`` stream over h2c, yielding lists of jobs."""

    def __init__(self, port: int, query: str) -> None:
        super().__init__(port)
        self.query = query

    async def open(self) -> "H2TakeStream":
        await super().open()
        self.sid = self._send(b"GET", f"/jobs/take?{self.query}", None)
        return self

    async def jobs(self) -> list:
        """At least one job (heartbeats skipped), everything already received."""
        while True:
            pending = self.body[self.sid]
            if b"\n" in pending:
                lines, _, self.body[self.sid] = pending.rpartition(b"\n")
                found = [orjson.loads(x) for x in lines.split(b"\n") if x]
                if found:
                    return found
            await self._pump()
