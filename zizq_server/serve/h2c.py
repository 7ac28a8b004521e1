"""Cleartext HTTP/2 (h2c with prior knowledge) beside HTTP/1.1 on one port.

Twisted switches a connection to HTTP/2 only when TLS ALPN negotiated "h2",
so a client that speaks HTTP/2 straight away on a plain port (the official
Ruby client does, for every request) gets a 400 from the HTTP/1.1 parser.
``H2cChannelProtocol`` watches the first bytes of each connection: the
24-byte HTTP/2 client preface hands the connection to ``H2_CHANNEL``
(``h2_native.NativeH2Channel`` on libnghttp2 when its binding is built,
else its twin ``h2.H2Channel``, Twisted's ``H2Connection`` with a shortcut
for everyday streams) as Twisted hands one to its ``H2Connection`` after
ALPN; anything else goes to the HTTP/1.1 channel (``http1.Http1Channel``)
untouched. A request line differs from the preface in its first byte or
so, so HTTP/1.1 is never delayed.

Private Twisted API relied on (Twisted is pinned to 26.10.0 for this, and
tests/zizq_server/test_daphne_h2c.py covers it):

- ``twisted.web.http._GenericHTTPChannelProtocol``: subclassed; its
  ``_channel`` (backing protocol), ``_negotiatedProtocol`` and the stored
  ``_requestFactory``, ``_site``, ``_factory``, ``_timeOut`` and
  ``_callLater`` it keeps for a protocol switch;
- ``twisted.web.http.HTTPChannel._networkProducer`` and ``setTimeout``;
- ``twisted.web._http2.H2Connection`` (which ``H2Channel`` subclasses) and
  the attributes it reads (``requestFactory``, ``site``, ``factory``,
  ``timeOut``, ``callLater``).

``_switch_to_h2`` mirrors the ALPN branch of
``_GenericHTTPChannelProtocol.dataReceived``; re-read it when Twisted moves.
Over TLS (``tls_transport``) the same sniffing picks the protocol, so h2
negotiated by ALPN gets ``H2Channel`` too; only a client whose ALPN chose
``http/1.1`` stays on HTTP/1.1 whatever it sends.

The protocol is half-closeable: when the client shuts down its side, the
transport calls ``readConnectionLost`` instead of ``connectionLost``, and
an HTTP/1.1 channel answers what it was sent before it closes
(``http1``); an HTTP/2 connection closes as it did.
"""

from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.web.http import _GenericHTTPChannelProtocol
from zope.interface import implementer

from zizq_server.serve import nghttp2
from zizq_server.serve.h2 import H2Channel
from zizq_server.serve.h2_native import NativeH2Channel
from zizq_server.serve.http1 import Http1Channel

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# The HTTP/2 connection class: libnghttp2 unless its twin must serve.
H2_CHANNEL = NativeH2Channel if nghttp2.IMPLEMENTATION == "cython" else H2Channel


@implementer(IHalfCloseableProtocol)
class H2cChannelProtocol(_GenericHTTPChannelProtocol):
    """HTTP/1.1 channel that becomes HTTP/2 when a connection opens with
    the HTTP/2 client preface."""

    # Bytes held back while they are still a proper prefix of the preface.
    _held = b""

    def makeConnection(self, transport):
        # Nagle's algorithm would hold a small response (a take frame, an
        # ack's 204) behind the peer's delayed ACK: milliseconds of latency
        # for nothing, as every response is written whole. (makeConnection,
        # not connectionMade: the base class proxies both to the channel.)
        transport.setTcpNoDelay(True)
        super().makeConnection(transport)

    def dataReceived(self, data):
        if self._negotiatedProtocol is not None:
            return super().dataReceived(data)
        data = self._held + data
        if len(data) < len(H2_PREFACE) and H2_PREFACE.startswith(data):
            self._held = data
            return None
        self._held = b""
        if data.startswith(H2_PREFACE) and self._alpn() != b"http/1.1":
            self._switch_to_h2()
        return super().dataReceived(data)

    def _alpn(self) -> bytes | None:
        """What TLS ALPN chose (None on a plain port or without ALPN): a
        client that agreed on HTTP/1.1 is not switched by a preface."""
        return getattr(self._channel.transport, "negotiatedProtocol", None)

    def readConnectionLost(self):
        channel = self._channel
        if isinstance(channel, (H2Channel, NativeH2Channel)):
            channel.transport.loseConnection()
        else:
            channel.readConnectionLost()

    def writeConnectionLost(self):
        """The response of a refused request is out (``http1._refuse``):
        reading goes on until the client closes."""

    def _switch_to_h2(self):
        http11 = self._channel
        # The HTTP/1.1 channel registered itself as the transport's producer
        # and armed an idle timeout; the H2Channel takes over both.
        network_producer = http11._networkProducer
        network_producer.unregisterProducer()
        http11.setTimeout(None)
        h2 = H2_CHANNEL()
        h2.requestFactory = self._requestFactory
        h2.site = self._site
        h2.factory = self._factory
        h2.timeOut = self._timeOut
        h2.callLater = self._callLater
        self._channel = h2
        self._negotiatedProtocol = b"h2"
        h2.makeConnection(http11.transport)
        network_producer.registerProducer(h2, True)


def h2c_channel_protocol(factory):
    """Build the protocol for one connection of ``factory``.

    Meant as an ``HTTPFactory.protocol`` class attribute, the slot Twisted
    fills with ``_genericHTTPChannelProtocolFactory``.
    """
    return H2cChannelProtocol(Http1Channel())
