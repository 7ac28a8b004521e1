"""The lean HTTP/1.1 transport against a scripted socket server: chunked
answers, a keep-alive connection the server closed while idle (sent again
on a new one), a connection dropped mid-answer (an error, not a resend,
since the server may have acted) and a server that never answers; and the
parser, cut at every byte."""

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


@pytest.mark.parametrize("answer", [OK, CHUNKED], ids=["length", "chunked"])
def test_an_answer_is_whole_only_with_its_last_byte(answer):
    for cut in range(len(answer)):
        assert http1.parse_answer(answer[:cut]) is None
    parsed, used = http1.parse_answer(answer + b"HTTP/1.1 ...")
    assert used == len(answer) and parsed.status_code == 200


def test_the_async_pool_fails_a_dropped_answer_and_a_silent_server():
    dropped = Scripted([[OK[:20]]])
    silent = socket.create_server(("127.0.0.1", 0))  # never accepts, never answers

    async def scenario():
        target = dropped.target()
        request = target.request("GET", "/health", None, None, "")
        with pytest.raises(ConnectionFailed, match="closed"):
            await http1.AsyncPool(target, 5, 5).send(request)
        port = silent.getsockname()[1]
        quiet = http1.Target(f"http://127.0.0.1:{port}", {}, True)
        with pytest.raises(ConnectionFailed, match="TimeoutError"):
            await http1.AsyncPool(quiet, 0.2, 5).send(request)

    asyncio.run(scenario())
    silent.close()
