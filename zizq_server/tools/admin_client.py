"""The HTTP client that ``top``, ``backup`` and ``compact`` share (spec 7.1).

It holds the connection options (``--url``, ``--ca-cert``, the
``--client-cert``/``--client-key`` pair), refuses a split pair, and sends
``POST <url>/<operation>``, tolerating a trailing ``/`` on the URL. The
client sets no read timeout: a backup of a large store streams for as long
as it needs (spec 8). For ``https`` URLs ``ssl_context`` trusts the system's
CAs plus ``--ca-cert`` and presents the client pair for mTLS; ``top`` uses
the same context for its ``wss`` connection.
"""

import http.client
import ssl
import urllib.parse
from dataclasses import dataclass

from queue_core.defaults import DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT

from . import ToolError

DEFAULT_URL = f"http://{DEFAULT_ADMIN_HOST}:{DEFAULT_ADMIN_PORT}"
# Connecting may fail fast; waiting for the answer never times out (spec 8).
CONNECT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class AdminEndpoint:
    """Where the admin API is and how to reach it."""

    url: str = DEFAULT_URL
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def check(self) -> None:
        """Raise ``ToolError`` for a split client certificate pair."""
        if (self.client_cert is None) != (self.client_key is None):
            raise ToolError("--client-cert and --client-key must be provided together")

    def display_url(self) -> str:
        return self.url.rstrip("/")

    def ssl_context(self) -> ssl.SSLContext:
        """The client context for an https URL (spec 4, 7.1).

        The system's trusted CAs, plus ``--ca-cert`` when given (an extra
        CA, not a replacement), and the client pair when given. Unreadable
        or malformed files raise ``ToolError`` naming the file.
        """
        context = ssl.create_default_context()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            if self.ca_cert is not None:
                context.load_verify_locations(cafile=self.ca_cert)
            if self.client_cert is not None:
                context.load_cert_chain(self.client_cert, self.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise ToolError(f"cannot load TLS files: {describe(exc)}") from None
        return context

    def post(self, operation: str, action: str) -> http.client.HTTPResponse:
        """``POST <url>/<operation>``; a non-2xx status raises ``ToolError``.

        ``action`` names the request in messages (``backup``, ``compact``).
        The caller reads the returned response and closes it.
        """
        parsed = urllib.parse.urlsplit(self.display_url())
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ToolError(f"invalid admin URL: {self.url}")
        connection = self._connection(parsed)
        try:
            connection.connect()
            # Only connecting may time out: a compaction answers when it is
            # done, and a backup streams for as long as it takes.
            connection.sock.settimeout(None)
            connection.request("POST", f"{parsed.path}/{operation}", body=b"")
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise ToolError(
                f"{action} request failed: {self.display_url()}: {describe(exc)}"
            ) from None
        if not 200 <= response.status < 300:
            body = response.read().decode("utf-8", "replace")
            connection.close()
            raise ToolError(f"{action} request failed: HTTP {response.status}: {body}")
        return response

    def _connection(self, parsed) -> http.client.HTTPConnection:
        try:
            port = parsed.port
        except ValueError:
            raise ToolError(f"invalid admin URL: {parsed.geturl()}") from None
        if parsed.scheme == "https":
            return http.client.HTTPSConnection(
                parsed.hostname,
                port or 443,
                timeout=CONNECT_TIMEOUT_S,
                context=self.ssl_context(),
            )
        return http.client.HTTPConnection(
            parsed.hostname, port or 80, timeout=CONNECT_TIMEOUT_S
        )


def describe(error: Exception) -> str:
    """An error's message, or its name when it has none (``IncompleteRead``)."""
    return str(error) or type(error).__name__


