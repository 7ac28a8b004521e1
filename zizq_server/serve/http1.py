"""HTTP/1.1 requests of the everyday shape, handed to the application directly.

A request through Twisted's ``HTTPChannel`` and Daphne's ``WebRequest`` runs
~450 Python function calls before and after the application does its work:
a line parser called per header line, a ``Headers`` object filled and then
walked three times, an ``inlineCallbacks`` generator, an ``asyncio.Queue``
per request, the server's connection table, a ``Headers`` object for the
response and a write per header line. That is ~80% of the CPU of a single
enqueue (bench/instructions.py: a request to a do-nothing ASGI app costs
~510k instructions that way, the enqueue itself ~130k; through the
shortcut below the same request costs ~134k).

``Http1Channel`` is Twisted's ``HTTPChannel`` with a shortcut in front. A
request in the shape every client library sends (``HTTP/1.1``, an origin
path, token header names, a ``Content-Length`` body or none) is parsed from
the connection's buffer in one pass and run as an ASGI application task
with the scope Daphne would have built; its response is written as one
block, with a ``Content-Length`` when the application sends the body in one
message and chunked otherwise. Anything else (``HTTP/1.0``, ``HEAD``,
``Connection: close``, ``Expect``, ``Transfer-Encoding``, ``Upgrade``,
obsolete line folding, a header Twisted or Daphne would refuse, an
oversized head or body) hands the connection, from that request on, to
Twisted's parser and Daphne's request exactly as before: the shortcut only
ever takes requests whose outcome through the stock path is known, and
everything it does not take keeps the stock behaviour, errors included.

What the shortcut keeps of the stock path: the idle timeout (reset on
data, never firing while a request is in flight), one request at a time
per connection (pipelined bytes wait, and the socket stops being read
after 16 KiB of them), ``http.disconnect`` to the application when the
response is done or the client goes away, the application cancelled if it
outlives its client by the server's ``application_close_timeout``, and
``Exception inside application`` logged by Daphne's logger. The
application's side of that (``receive``, ``send``, failures) is
``exchange.Exchange``, which HTTP/2's shortcut (``h2``) shares.

What a connection may cost, whichever way its requests go (``limits``):

- A body over the server's limit is answered 413 before it is buffered,
  from ``Content-Length`` (the shortcut's or Twisted's parser) or, for a
  chunked body, once its decoded size passes the limit; the connection
  then closes as after a 414 (below), and nothing of the request reaches
  the application (Twisted's parser, in the middle of a read, is stopped
  at ``rawDataReceived`` and ``allContentReceived``).
- A body arriving over many reads is kept as a list of reads and joined
  once: growing one buffer would copy it again on every read (quadratic).
- A client that pipelines requests but does not read the responses costs
  one response: the next request starts only once the transport has
  taken the last one (Twisted pauses its producer, this channel, when the
  transport holds more than 64 KiB, and resumes it once that has gone),
  and reading stops meanwhile. Twisted's own channel does stop reading,
  but still answers every request already buffered, each response adding
  to the unsent data: on the stock path too, those wait (``requestDone``).
- An application streaming a response (``more_body``) waits in ``send``
  while the transport is paused (``Exchange.congested``).

A client that half-closes its side after its request (``shutdown(SHUT_WR)``)
gets its answer, and the connection closes after it (``readConnectionLost``,
which the transport calls as h2c's protocol provides
``IHalfCloseableProtocol``); so does one whose request goes the stock way.
A request line or header line over Twisted's 16 KiB gets 414 or 431, and a
head over its 16 KiB in all gets 431 (where Twisted closed without an
answer, or gave a bare 400), with the spec's error body (API.md 2.3); the
connection then drops what the client still sends, for ``LINGER_S`` at
most, and closes: closing with unread bytes would answer them with a
reset, which can destroy the response before the client reads it. For
those, Twisted's ``lineLengthExceeded``, ``_respondToBadRequestAndDisconnect``,
``_receivedHeaderSize``, ``totalHeadersSize``, ``__first_line``,
``_handlingRequest``, ``persistent`` and ``callLater`` are relied on.

Twisted API relied on (pinned, covered by tests/zizq_server/test_http1.py):
``HTTPChannel``'s ``dataReceived``, ``connectionLost``,
``timeoutConnection``, ``resetTimeout``, ``setTimeout``, ``timeOut`` and
``_networkProducer``; ``http.RESPONSES``; ``http_headers._nameEncoder``
and ``_sanitizeLinearWhitespace`` (the response header canonicalisation
Twisted applies). For the body limit and back-pressure on the stock path
(tests/zizq_server/test_limits.py): ``HTTPChannel``'s ``length``,
``requests``, ``_transferDecoder`` (and its ``dataCallback``),
``allHeadersReceived``, ``rawDataReceived``, ``allContentReceived``,
``requestDone``, ``_dataBuffer``, ``pauseProducing``, ``resumeProducing``
and ``_waitingForTransport``.
"""

import re

from twisted.web.http import RESPONSES, HTTPChannel
from twisted.web.http_headers import _nameEncoder, _sanitizeLinearWhitespace

from .exchange import NO_BODY_STATUSES, Exchange, Origin
from .limits import http1_too_large

__all__ = ["Http1Channel"]

# The largest head (request line and headers) the shortcut parses; Twisted's
# own limit for the stock path is 16 KiB of header lines.
MAX_HEAD_BYTES = 8192
# The largest body the shortcut buffers; a larger one streams through
# Twisted's request body handling instead.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Pipelined bytes held while a request is in flight before reading pauses
# (Twisted's _optimisticEagerReadSize).
MAX_WAITING_BYTES = 16384
# How long a refused connection goes on reading (and dropping) what the
# client still sends before it closes.
LINGER_S = 5.0

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
# A request line with an origin-form target (printable ASCII, no spaces).
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") (/[\x21-\x7e]*) HTTP/1\.1\r\n")
# Header lines the stock path accepts as they are: token names, values
# without the NUL, CR and LF Twisted refuses or the bytes of RFC 9110
# section 5.5 Daphne refuses, no obsolete line folding. One match checks
# them all (a regex per line, or one that also captured, cost 2-3x more).
_HEADER_LINES = re.compile(
    rb"(?:" + _TOKEN + rb":[^\x00\r\n\x0b\x0c\x1c\x1d\x1e\x85]*\r\n)*"
)
# Headers the stock path gives a meaning beyond passing them on.
_SPECIAL = frozenset(
    (
        b"content-length",
        b"connection",
        b"transfer-encoding",
        b"expect",
        b"upgrade",
        b"daphne-root-path",
    )
)


def parse_head(head: bytes):
    """``(method, target, headers, body_length)`` of a request head the
    shortcut takes, or None for one that goes the stock way.

    ``head`` is the request line and header lines, each ending in CRLF,
    without the blank line. ``headers`` are ``(lowercase name, value)``
    pairs in arrival order, without names containing ``_`` (Daphne drops
    those: CVE-2015-0219).
    """
    request_line = _REQUEST_LINE.match(head)
    if request_line is None:
        return None
    method, target = request_line.groups()
    lines = head[request_line.end() :]
    if method == b"HEAD" or _HEADER_LINES.fullmatch(lines) is None:
        return None
    headers = []
    length = None
    for line in lines.split(b"\r\n")[:-1]:
        name, _, value = line.partition(b":")
        name = name.lower()
        value = value.strip(b" \t")
        if name in _SPECIAL:
            # Only one well-formed Content-Length and Connection: keep-alive
            # are taken here; the stock path judges the rest.
            if name == b"content-length" and length is None and value.isdigit():
                length = int(value)
            elif name != b"connection" or value.lower() != b"keep-alive":
                return None
        headers.append((name, value))
    if b"_" in lines:
        headers = [(name, value) for name, value in headers if b"_" not in name]
    return method, target, headers, length or 0


class Http1Channel(HTTPChannel):
    """Twisted's HTTP/1.1 channel with the shortcut described above."""

    _stock = False  # this connection now belongs to Twisted's parser
    _exchange = None  # the request in flight through the shortcut
    _head = None  # parsed head of the request whose body is arriving
    _input_ended = False  # the client half-closed: no request follows
    _body = None  # reads of that body so far, when it spans several
    _body_size = 0  # their total length
    _paused = False  # reading stopped (pipelined bytes wait, or output)
    _refused = False  # a 4xx was sent: input is dropped until the close
    _held = b""  # stock path: pipelined bytes waiting for the transport

    def connectionMade(self):
        super().connectionMade()
        self._buffer = b""
        self._origin = Origin(self.transport)
        # Read once per connection; 0 = no limit (also without a server).
        server = getattr(self.factory, "server", None)
        self._body_limit = getattr(server, "max_request_body_bytes", 0)

    def dataReceived(self, data):
        if self._stock:
            return super().dataReceived(data)
        self.resetTimeout()
        if self._body is not None:
            self._add_body(data)
            return None
        self._buffer += data
        if self._exchange is None:
            self._next_request()
        elif len(self._buffer) > MAX_WAITING_BYTES and not self._paused:
            self._update_reading()
        return None

    def _next_request(self):
        """Start the request at the front of the buffer once it is whole."""
        buffer = self._buffer
        if self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    self._to_stock()
                return
            parsed = None if end > MAX_HEAD_BYTES else parse_head(buffer[: end + 2])
            if parsed is not None and 0 < self._body_limit < parsed[3]:
                self._refuse_body(parsed[2])
                return
            if parsed is None or parsed[3] > MAX_BODY_BYTES:
                self._to_stock()
                return
            self._head = parsed, end + 4
        (method, target, headers, length), body_at = self._head
        if len(buffer) < body_at + length:
            self._body = [buffer[body_at:]]
            self._body_size = len(buffer) - body_at
            self._buffer = b""
            return
        self._head = None
        self._buffer = buffer[body_at + length :]
        self._start(method, target, headers, buffer[body_at : body_at + length])

    def _add_body(self, data: bytes) -> None:
        """One more read of a body that spans several."""
        self._body.append(data)
        self._body_size += len(data)
        length = self._head[0][3]
        if self._body_size < length:
            return
        data, self._body = b"".join(self._body), None
        (method, target, headers, _), _ = self._head
        self._head = None
        if len(data) > length:  # pipelined bytes came with its end
            data, self._buffer = data[:length], data[length:]
        self._start(method, target, headers, data)

    def _start(self, method, target, headers, body: bytes) -> None:
        root_path = self.factory.server.root_path
        scope = self._origin.scope("1.1", method, target, headers, root_path)
        self._exchange = _Exchange(self, scope, body)

    def _refuse_body(self, headers) -> None:
        """Answer 413 (``headers``: the request's lowercase pairs) and close."""
        accept = next((v for n, v in headers if n == b"accept"), None)
        self._close_with(http1_too_large(self._body_limit, accept))

    def _update_reading(self) -> None:
        """Read from the socket unless the client is not reading the
        responses, or too many pipelined bytes wait behind a request."""
        pause = self._waitingForTransport or (
            self._exchange is not None and len(self._buffer) > MAX_WAITING_BYTES
        )
        if pause != self._paused:
            self._paused = pause
            if pause:
                self._networkProducer.pauseProducing()
            else:
                self._networkProducer.resumeProducing()

    def pauseProducing(self):
        """The transport holds more than it can send: stop starting requests
        and reading until it has sent it (``resumeProducing``)."""
        if self._stock:
            return super().pauseProducing()
        self._waitingForTransport = True
        self._update_reading()
        return None

    def resumeProducing(self):
        if self._stock:
            super().resumeProducing()
            if self._held:  # before anything read from now on
                data, self._held = self._held, b""
                self.dataReceived(data)
            return None
        self._waitingForTransport = False
        self._update_reading()
        if self._exchange is not None:
            self._exchange.output_drained()
        elif self._buffer and not self._refused:
            self._next_request()
        return None

    # -- the stock path's body limit -------------------------------------------

    def allHeadersReceived(self):
        limit = self._body_limit
        if limit and self.length is not None and self.length > limit:
            # Before Twisted's own handling, which would send 100 Continue.
            self._refuse_body(self._stock_headers())
            return
        super().allHeadersReceived()
        decoder = self._transferDecoder
        if limit and self.length is None and decoder is not None:
            decoder.dataCallback = self._counted(decoder.dataCallback)

    def _counted(self, deliver):
        """``deliver`` for a chunked body, refusing it past the limit."""
        received = 0

        def count(data: bytes) -> None:
            nonlocal received
            received += len(data)
            if self._refused:
                return
            if received > self._body_limit:
                self._refuse_body(self._stock_headers())
                return
            deliver(data)

        return count

    def _stock_headers(self) -> list:
        headers = self.requests[-1].requestHeaders
        return [(b"accept", v) for v in headers.getRawHeaders(b"accept", ())]

    def requestDone(self, request):
        """Twisted's, except that pipelined requests it has read wait until
        the transport has sent the response (Twisted answers them at once,
        each response adding to what the client has not read)."""
        if self._waitingForTransport and self.persistent and self._dataBuffer:
            self._held += b"".join(self._dataBuffer)
            self._dataBuffer = []
            self._networkProducer.pauseProducing()  # nothing may overtake them
        super().requestDone(request)

    def rawDataReceived(self, data):
        if not self._refused:
            super().rawDataReceived(data)

    def allContentReceived(self):
        if not self._refused:
            super().allContentReceived()

    def _to_stock(self):
        self._stock = True
        data, self._buffer = self._buffer, b""
        super().dataReceived(data)

    def exchange_done(self):
        """The response is written: read on, and take the next request
        (once the transport has sent it, if it could not yet)."""
        self._exchange = None
        if self._waitingForTransport:
            return
        if self._paused:
            self._update_reading()
        if self._buffer:
            self._next_request()
        if self._input_ended and self._exchange is None:
            self._input_over()

    def readConnectionLost(self):
        """The client has sent all it will: answer what it sent, then close.

        A response that has no end (a take stream, chunked and open-ended)
        has nothing to wait for: a client that stops sending then is gone,
        and its stream closes now, so that the jobs it held go back to
        ``ready`` at once (a closed socket and a half-closed one look the
        same from here).
        """
        self._input_ended = True
        if self._streaming():
            self.transport.loseConnection()
        elif self._stock or self._exchange is None:
            self._input_over()

    def _streaming(self) -> bool:
        """Whether a chunked response is being streamed."""
        if self._stock:
            return any(getattr(request, "chunked", False) for request in self.requests)
        return self._exchange is not None and self._exchange.chunked

    def _input_over(self):
        if self._stock and self._handlingRequest:
            self.persistent = False  # Twisted closes after the response
        else:
            self.loseConnection()

    def lineLengthExceeded(self, line):
        """A line over Twisted's limit: the request line or a header line."""
        if self._HTTPChannel__first_line:
            self._refuse(414, "request line too long")
        else:
            self._refuse(431, "request header too large")

    def _respondToBadRequestAndDisconnect(self):
        if self._receivedHeaderSize > self.totalHeadersSize:
            self._refuse(431, "request headers too large")
        else:
            super()._respondToBadRequestAndDisconnect()

    def _refuse(self, status: int, error: str) -> None:
        """Answer ``status`` and close once the client has read it."""
        self._close_with(refusal(status, error))

    def _close_with(self, response: bytes) -> None:
        """Write a refusal and close, dropping what the client still sends."""
        if self._refused:
            return  # Twisted's parser may find more in the same read
        self._refused = True
        self.dataReceived = self.lineReceived = _drop
        self.transport.write(response)
        self.transport.loseWriteConnection()  # FIN after the response
        self.callLater(LINGER_S, self.transport.abortConnection)

    def timeoutConnection(self):
        if self._exchange is not None:
            # A stream may stay quiet for longer than the idle timeout;
            # Twisted too suspends the timeout while a request runs.
            self.setTimeout(self.timeOut)
            return
        super().timeoutConnection()

    def connectionLost(self, reason):
        if self._exchange is not None:
            self._exchange.client_gone()
            self._exchange = None
        super().connectionLost(reason)


_REASONS = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


def refusal(status: int, error: str) -> bytes:
    """A whole HTTP/1.1 response with the spec's error body, closing."""
    body = b'{"error":"%s"}' % error.encode()
    return b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (
        status,
        _REASONS[status],
        b"Content-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n" % len(body),
        body,
    )


def _drop(data: bytes) -> None:
    """Input of a refused connection: read, and dropped."""


class _Exchange(Exchange):
    """One request through the shortcut, its response written on the
    connection."""

    __slots__ = ("channel", "chunked")

    def __init__(self, channel: Http1Channel, scope: dict, body: bytes):
        super().__init__(channel.factory.server)
        self.channel = channel
        self.chunked = False
        self.start(scope, body)

    def _write(self, body: bytes, more: bool) -> None:
        head = b""
        if not self.writing:
            self.writing = True
            head = self._head(body, more)
            if self.status in NO_BODY_STATUSES:
                body = b""
        if self.chunked:
            if body:
                body = b"%x\r\n%s\r\n" % (len(body), body)
            if not more:
                body += b"0\r\n\r\n"
        if head or body:
            # One write per message: Twisted joins pending writes into one
            # buffer before sending anyway, so the copy costs nothing extra.
            self.channel.transport.write(head + body if head else body)
        if not more:
            self._finish()

    def _head(self, body: bytes, more: bool) -> bytes:
        status = self.status
        reason = RESPONSES.get(status, b"Unknown Status")
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        has_length = False
        for name, value in self.headers:
            if not isinstance(name, bytes) or not isinstance(value, bytes):
                raise ValueError("Header names and values must be bytes")
            name = _nameEncoder.encode(name)
            has_length = has_length or name == b"Content-Length"
            lines.append(b"%s: %s\r\n" % (name, _sanitizeLinearWhitespace(value)))
        if not has_length and status not in NO_BODY_STATUSES:
            if more:
                self.chunked = True
                lines.append(b"Transfer-Encoding: chunked\r\n")
            else:
                lines.append(b"Content-Length: %d\r\n" % len(body))
        lines.append(b"\r\n")
        return b"".join(lines)

    def _finish(self) -> None:
        super()._finish()
        self.channel.exchange_done()

    def _abandon(self) -> None:
        self.channel.transport.loseConnection()

    def congested(self) -> bool:
        return self.channel._waitingForTransport
