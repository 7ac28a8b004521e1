"""WebSocket connections: a listener's route table, and the refusal of the rest.

Daphne hands every WebSocket upgrade, on either listener and for any path,
to the application as a ``websocket`` scope. A path the listener's table
serves goes to its consumer (an ASGI application, e.g. a Channels
consumer's ``as_asgi()``), with the path's ``{}`` segments in
``scope["url_route"]`` as Channels' ``URLRouter`` puts them. Any other path
is refused before the handshake completes (``websocket.close`` before
``websocket.accept``), which Daphne answers with ``403 Access denied``:
a client asking for a WebSocket the server does not have is not the
server's error, so nothing is raised and nothing is logged, where a
``ProtocolTypeRouter`` without a ``websocket`` entry, or a ``URLRouter``
without a match, raises (a 500 and an error with a traceback).
"""

from .app import Router

__all__ = ["WebSocketApp"]


class WebSocketApp:
    """An ASGI app serving one WebSocket route table."""

    def __init__(self, routes) -> None:
        self.router = Router(routes)

    async def __call__(self, scope, receive, send) -> None:
        found = self.router.match(scope["path"])
        if found is None:
            await refuse(receive, send)
            return
        consumer, params = found
        scope = dict(scope, url_route={"args": params, "kwargs": {}})
        await consumer(scope, receive, send)


async def refuse(receive, send) -> None:
    """Close a WebSocket before accepting it (Daphne: 403)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})
