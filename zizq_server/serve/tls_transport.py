"""HTTPS on a listener: Twisted's memory-BIO TLS around the plain protocols.

``tls_factory`` wraps a listener's HTTP factory (the one its plain socket
would use: HTTP/1.1 and HTTP/2 fast paths, h2 detected by its preface) in
Twisted's ``TLSMemoryBIOFactory``, so an HTTPS connection is the same
protocol behind an encrypting transport, fast paths included (DESIGN.md 6).
The bytes below TLS still go through ``transport.TurnFlushedServer``.

- ``ListenerTls`` is the connection creator: each new connection gets an
  ``SSL.Connection`` from the context in force, so a rotated certificate
  (``tls_reload``) serves new connections while old ones keep theirs.
- ``TlsConnection`` is Twisted's TLS protocol, plus ``ISSLTransport`` (so
  the ASGI scope says ``https``, as Daphne's request asks the transport)
  and a WARN ``TLS handshake failed peer=<ip:port> error=<reasons>`` for a
  handshake OpenSSL refused (a client without the required certificate,
  one from another CA or expired, plain HTTP on the TLS port). A client
  that connects and leaves without a word is not a failed handshake.
  Plain ``TLSMemoryBIOProtocol``, not Twisted's default buffering
  subclass: responses are already written whole, and the transport below
  coalesces a loop turn's writes.

Twisted API relied on (pinned): ``TLSMemoryBIOProtocol._checkHandshakeStatus``,
``_shutdownTLS``, ``_handshakeDone``, ``_lostTLSConnection`` and ``_reason``.
"""

import logging

from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator, ISSLTransport
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from zope.interface import implementer

from .tls import TlsFiles, describe, load

logger = logging.getLogger("zizq.serve.tls")


@implementer(IOpenSSLServerConnectionCreator)
class ListenerTls:
    """The TLS configuration in force on one listener."""

    def __init__(self, name: str, files: TlsFiles) -> None:
        self.name = name
        self.files = files
        self.signature = files.signature()
        self.context = load(files, self.session_id)

    @property
    def session_id(self) -> bytes:
        return f"zizq-{self.name}".encode()

    def serverConnectionForTLS(self, protocol) -> SSL.Connection:
        connection = SSL.Connection(self.context, None)
        connection.set_accept_state()
        return connection


@implementer(ISSLTransport)
class TlsConnection(TLSMemoryBIOProtocol):
    """Twisted's TLS protocol that logs the handshakes it fails."""

    def _checkHandshakeStatus(self):
        super()._checkHandshakeStatus()
        if self._lostTLSConnection and not self._handshakeDone:
            _log_failure(self.transport.getPeer(), self._reason)

    def loseWriteConnection(self):
        """Half-close, as ``http1`` ends a refusal: TLS's close_notify, while
        reading goes on until the peer closes or the refusal's linger ends.

        Not the TCP half-close below, which Twisted's wrapper would pass
        through: it loses the close_notify, and once the TCP side is
        half-closed a failing TLS read makes Twisted lose the connection in
        the middle of its receive loop, which then fails on the freed TLS
        state (an ERROR in the log).
        """
        if not self._lostTLSConnection:
            self._shutdownTLS()


def _log_failure(peer, reason) -> None:
    error = describe(reason.value) if reason is not None else "connection lost"
    address = getattr(peer, "host", "?")
    if ":" in address:
        address = f"[{address}]"
    fields = {"peer": f"{address}:{getattr(peer, 'port', 0)}", "error": error}
    logger.warning("TLS handshake failed", extra={"fields": fields})


def tls_factory(tls: ListenerTls, factory) -> TLSMemoryBIOFactory:
    """``factory``'s protocols behind TLS configured by ``tls``."""
    wrapped = TLSMemoryBIOFactory(tls, False, factory)
    wrapped.protocol = TlsConnection
    return wrapped
