"""A graceful stop sends GOAWAY on every open HTTP/2 connection.

A raw client (the ``h2`` package) on a real server, on each connection
class: the native one (libnghttp2) and its twin (``ZIZQ_NO_EXTENSIONS=1``,
hyper-h2). After SIGTERM each connection must read GOAWAY(NO_ERROR) naming
the last stream the server processed, then the end of the connection.
"""

import socket

import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest

TWINS = {"native": None, "hyper-h2": {"ZIZQ_NO_EXTENSIONS": "1"}}


class RawH2:
    """One prior-knowledge h2c connection, read by hand."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True)
        )
        self.conn.initiate_connection()
        self._send()
        self.events = []

    def _send(self) -> None:
        self.sock.sendall(self.conn.data_to_send())

    def get(self, path: str, wait: bool = True) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        headers = [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "localhost"),
            (":path", path),
        ]
        self.conn.send_headers(stream_id, headers, end_stream=True)
        self._send()
        # This stream's event: an earlier stream's would end the wait at
        # once, before the server has read this request.
        kind = h2.events.StreamEnded if wait else h2.events.ResponseReceived
        self.read_until(lambda e: isinstance(e, kind) and e.stream_id == stream_id)
        return stream_id

    def read_until(self, done) -> None:
        while not any(done(event) for event in self.events):
            data = self.sock.recv(65536)
            assert data, f"connection closed; events: {self.events}"
            self.events += self.conn.receive_data(data)
            self._send()

    def read_to_end(self) -> None:
        """Everything until the server closes the connection."""
        while data := self.sock.recv(65536):
            self.events += self.conn.receive_data(data)

    def goaways(self) -> list:
        return [
            (event.error_code, event.last_stream_id)
            for event in self.events
            if isinstance(event, h2.events.ConnectionTerminated)
        ]


@pytest.mark.parametrize("twin", TWINS)
def test_sigterm_sends_goaway_on_every_connection(make_server, twin):
    server = make_server(env=TWINS[twin])
    served = RawH2(server.port)
    served.get("/jobs/count")
    last = served.get("/jobs/count")
    idle = RawH2(server.port)
    idle.read_until(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
    taking = RawH2(server.port)
    take = taking.get("/jobs/take?queue=q", wait=False)
    assert server.stop() == 0
    for connection in (served, idle, taking):
        connection.read_to_end()
    assert served.goaways() == [(h2.errors.ErrorCodes.NO_ERROR, last)]
    assert idle.goaways() == [(h2.errors.ErrorCodes.NO_ERROR, 0)]
    assert taking.goaways() == [(h2.errors.ErrorCodes.NO_ERROR, take)]
