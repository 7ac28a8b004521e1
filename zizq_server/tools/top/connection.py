"""The dashboard's WebSocket to ``<url>/events``, kept up for as long as it runs.

``zizq top`` never exits on a connection error (ADMIN_AND_CLI.md 7.2): a
refused, dropped or impossible connection (a wrong URL, a server that is
not a Zizq admin listener) shows ``Disconnected`` with what went wrong,
waits ``RETRY_S`` and tries again, ``Connecting...`` meanwhile. Frames are
checked by ``protocol.parse``; a bad one is reported and skipped, the
connection stays. Outgoing messages go through one queue and one writer,
so they leave in the order the app made them.

The app gets three callbacks, all called on its event loop: ``status``
(with the problem text when disconnected), ``message`` (a checked
message) and ``problem`` (a bad frame).
"""

import asyncio
import ssl
import urllib.parse

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

from . import protocol

RETRY_S = 2.0
OPEN_TIMEOUT_S = 5.0
CONNECTING = "Connecting..."
CONNECTED = "Connected"
DISCONNECTED = "Disconnected"


def events_url(url: str) -> str:
    """``ws(s)://host:port/path/events`` for an ``http(s)`` admin URL;
    ``ValueError`` for anything else."""
    parsed = urllib.parse.urlsplit(url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss"}.get(parsed.scheme)
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    if scheme is None or not parsed.hostname or not port_ok:
        raise ValueError(f"invalid admin URL: {url}")
    return urllib.parse.urlunsplit(
        (scheme, parsed.netloc, parsed.path + "/events", "", "")
    )


class Connection:
    """Connects, reads, reconnects; ``send`` queues a message."""

    def __init__(
        self, url: str, ssl_context: ssl.SSLContext | None, status, message, problem
    ):
        self.url = url
        self.ssl_context = ssl_context
        self._status = status
        self._message = message
        self._problem = problem
        self._outgoing = None

    def send(self, text: str) -> None:
        """Queue a message; dropped when there is no connection (the app
        subscribes afresh on every connect)."""
        if self._outgoing is not None:
            self._outgoing.put_nowait(text)

    async def run(self) -> None:
        while True:
            self._status(CONNECTING, None)
            problem = await self._session()
            self._status(DISCONNECTED, problem)
            await asyncio.sleep(RETRY_S)

    async def _session(self) -> str:
        """One connection, until it fails; what went wrong."""
        try:
            target = events_url(self.url)
            secure = self.ssl_context if target.startswith("wss:") else None
            async with connect(
                target,
                ssl=secure,
                max_size=None,
                open_timeout=OPEN_TIMEOUT_S,
                ping_interval=None,
            ) as ws:
                self._outgoing = asyncio.Queue()
                writer = asyncio.create_task(self._write(ws, self._outgoing))
                try:
                    self._status(CONNECTED, None)
                    await self._read(ws)
                finally:
                    self._outgoing = None
                    writer.cancel()
            return "the server closed the connection"
        except ValueError as exc:
            return str(exc)
        except InvalidStatus as exc:
            code = exc.response.status_code
            return f"not a Zizq admin API: HTTP {code} for {target}"
        except InvalidHandshake as exc:
            if isinstance(exc.__cause__, OSError):
                return str(exc.__cause__)
            if isinstance(exc.__cause__, EOFError) and secure is not None:
                # TLS 1.3 refuses a client certificate after the handshake:
                # the refusal reaches here as the end of the stream.
                return "the server closed the TLS connection (is a client certificate required?)"
            return f"not a Zizq admin API: {exc}"
        except (OSError, TimeoutError, WebSocketException) as exc:
            return str(exc) or type(exc).__name__

    async def _read(self, ws) -> None:
        async for frame in ws:
            try:
                message = protocol.parse(frame)
            except protocol.ProtocolError as exc:
                self._problem(str(exc))
                continue
            self._message(message)

    @staticmethod
    async def _write(ws, outgoing: asyncio.Queue) -> None:
        while True:
            await ws.send(await outgoing.get())
