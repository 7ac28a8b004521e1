"""ASGI composition: protocol, then listener, then the listener's route table.

The Daphne runner tags each connection's scope with the listener it came in
on (``scope["listener"]``: ``primary`` or ``admin``); the primary and admin
APIs are separate ``ApiApp``s over their own route tables in ``routing``.
WebSocket upgrades go the same way, to a ``WebSocketApp`` per listener
over its WebSocket table, which refuses the paths it does not serve. On the
admin listener, ``/admin/`` and below go to the Django admin instead
(``admin_ui``), the one place Django's request stack runs.
"""

from channels.routing import ProtocolTypeRouter

from .admin_ui.asgi_app import AdminUiApp, is_admin_path
from .api.app import ApiApp
from .api.websocket import WebSocketApp
from .routing import ADMIN_HTTP, ADMIN_WEBSOCKET, PRIMARY_HTTP, PRIMARY_WEBSOCKET


class ListenerRouter:
    """Sends each connection to the app of the listener it arrived on."""

    def __init__(self, apps: dict) -> None:
        self.apps = apps

    def __call__(self, scope, receive, send):
        return self.apps[scope.get("listener", "primary")](scope, receive, send)


class AdminListenerApp:
    """The admin listener's HTTP: the Django admin under /admin/, else the API."""

    def __init__(self, api, admin_ui) -> None:
        self.api = api
        self.admin_ui = admin_ui

    def __call__(self, scope, receive, send):
        if is_admin_path(scope["path"]):
            return self.admin_ui(scope, receive, send)
        return self.api(scope, receive, send)


def build_application():
    return ProtocolTypeRouter(
        {
            "http": ListenerRouter(
                {
                    "primary": ApiApp(PRIMARY_HTTP, "zizq.api.primary"),
                    "admin": AdminListenerApp(
                        ApiApp(ADMIN_HTTP, "zizq.api.admin", json_404=False),
                        AdminUiApp(),
                    ),
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
