"""ASGI composition: protocol, then listener, then the listener's route table.

The Daphne runner tags each connection's scope with the listener it came in
on (``scope["listener"]``: ``primary`` or ``admin``); the primary and admin
APIs are separate ``ApiApp``s over their own route tables in ``routing``.
WebSocket upgrades go the same way, to a ``WebSocketApp`` per listener
over its WebSocket table, which refuses the paths it does not serve.
"""

from channels.routing import ProtocolTypeRouter

from .api.app import ApiApp
from .api.websocket import WebSocketApp
from .routing import ADMIN_HTTP, ADMIN_WEBSOCKET, PRIMARY_HTTP, PRIMARY_WEBSOCKET


class ListenerRouter:
    """Sends each connection to the app of the listener it arrived on."""

    def __init__(self, apps: dict) -> None:
        self.apps = apps

    def __call__(self, scope, receive, send):
        return self.apps[scope.get("listener", "primary")](scope, receive, send)


def build_application():
    return ProtocolTypeRouter(
        {
            "http": ListenerRouter(
                {
                    "primary": ApiApp(PRIMARY_HTTP, "zizq.api.primary"),
                    "admin": ApiApp(ADMIN_HTTP, "zizq.api.admin", json_404=False),
                }
            ),
            "websocket": ListenerRouter(
                {
                    "primary": WebSocketApp(PRIMARY_WEBSOCKET),
                    "admin": WebSocketApp(ADMIN_WEBSOCKET),
                }
            ),
        }
    )
