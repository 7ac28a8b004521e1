"""The lean HTTP/1.1 transport against a scripted socket server: chunked
answers, a keep-alive connection the server closed while idle (sent again
on a new one), and a connection dropped mid-answer (an error, not a
resend, since the server may have acted)."""

import asyncio
import socket
import threading

import pytest

from zizq_client import http1
from zizq_client.errors import ConnectionFailed

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    b'3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n'
)


class Scripted:
    """Accepts connections; on each, answers requests with the next
    scripted replies (``None`` closes that connection)."""

    def __init__(self, connections: list) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = []
        threading.Thread(target=self._serve, args=(connections,), daemon=True).start()

    def _serve(self, connections) -> None:
        for replies in connections:
            conn, _ = self.listener.accept()
            with conn:
                for reply in replies:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    self.requests.append(data.split(b"\r\n", 1)[0])
                    if reply is None:
                        break
                    conn.sendall(reply)

    def target(self) -> http1.Target:
        return http1.Target(f"http://127.0.0.1:{self.port}", {"accept": "x"}, True)


def test_chunked_answers_are_joined():
    server = Scripted([[CHUNKED]])
    pool = http1.Pool(server.target(), 5, 5)
    answer = pool.send(server.target().request("GET", "/health", None, None, ""))
    assert (answer.status_code, answer.content) == (200, b'{"a":1}')


def test_an_idle_connection_closed_by_the_server_is_replaced():
    server = Scripted([[OK, None], [OK]])
    pool = http1.Pool(server.target(), 5, 5)
    request = server.target().request("POST", "/jobs", {"q": "a b"}, b"{}", "a/b")
    assert pool.send(request).content == b"{}"
    assert pool.send(request).content == b"{}"
    assert server.requests == [b"POST /jobs?q=a+b HTTP/1.1"] * 3


def test_a_connection_dropped_mid_answer_fails():
    server = Scripted([[OK[:20]]])
    pool = http1.Pool(server.target(), 5, 5)
    with pytest.raises(ConnectionFailed):
        pool.send(server.target().request("GET", "/health", None, None, ""))


def test_the_async_pool_replaces_a_closed_connection():
    server = Scripted([[OK, None], [CHUNKED]])

    async def scenario():
        pool = http1.AsyncPool(server.target(), 5, 5)
        request = server.target().request("GET", "/health", None, None, "")
        first = await pool.send(request)
        second = await pool.send(request)
        await pool.aclose()
        return first.content, second.content

    assert asyncio.run(scenario()) == (b"{}", b'{"a":1}')
