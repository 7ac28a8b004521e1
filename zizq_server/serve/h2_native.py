"""HTTP/2 connections on libnghttp2, feeding the application exchange.

``h2.H2Channel`` (Twisted's ``H2Connection`` on hyper-h2) spends most of
a single request in pure-Python protocol work: frame objects, HPACK,
hyper-h2's state machines, Twisted's per-stream queues. ``NativeH2Channel``
hands all of that to libnghttp2 (``nghttp2.Session``) and keeps only what
is the server's: the scope of each request stream, its ``Exchange``
(``_Stream``), the body limit and back-pressure. ``h2c`` uses it whenever
the binding is built; ``H2Channel`` is its twin.

What the library does: the preface, SETTINGS (100 concurrent streams, a
64 KiB header list, no push, no RFC 7540 priorities: PRIORITY frames are
ignored, RFC 9113 section 5.3), PING, flow control both ways (the client's
window is granted back as DATA is read), frame sizes, stream states,
RST_STREAM and GOAWAY for protocol errors, RFC 9113's checks of every
header block (a bad block resets its stream), and the limits on resets
(Rapid Reset: 1,000 in a burst, 33 a second, as Twisted's), acks and
CONTINUATION frames.

What this class does, as ``H2Channel`` does it:

- Each request stream gets the scope Daphne builds: ``:authority`` as
  ``host``, names containing ``_`` dropped, ``daphne-root-path`` read,
  split ``cookie`` fields joined at the end (as hyper-h2 delivers them),
  repeats of any other name grouped behind its first (as Twisted's
  ``Headers`` gives them);
  a name or value Daphne refuses gets Daphne's 400 page; ``HEAD`` runs
  the application and sends the head only.
- A body over the server's limit gets the 413 of ``limits.too_large``;
  what the client still sends is dropped, as many bytes again as the
  limit, then ``RST_STREAM(NO_ERROR)`` (``h2_limits``).
- Back-pressure: the connection is *congested* while the transport is
  paused or complete responses hold more than ``HIGH_WATER_BYTES`` not
  yet framed (flow control); gated applications wait then, and a
  streaming response's next ``more_body`` waits while its own stream
  has data queued.
- The client's GOAWAY ends the connection at once, as Twisted's does;
  an idle timeout sends GOAWAY (``PROTOCOL_ERROR`` with open streams)
  and closes; a graceful stop sends GOAWAY(NO_ERROR) (``h2_open``) and
  the connection closes once its streams are done.

nghttp2 must not be asked for output from inside its own callbacks:
responses written while ``receive`` runs (an error page, a 413) are
flushed when it returns.
"""

import asyncio
from urllib.parse import unquote

from daphne.http_protocol import WebRequest
from daphne.utils import HEADER_NAME_RE
from twisted.internet.protocol import Protocol
from twisted.protocols.policies import TimeoutMixin

from . import h2_open, nghttp2
from .exchange import NO_BODY_STATUSES, Origin
from .h2_stream import BAD_VALUE, H2Stream
from .limits import HIGH_WATER_BYTES, too_large

__all__ = ["NativeH2Channel"]

NO_ERROR = 0
PROTOCOL_ERROR = 1
_ERROR_HEAD = [(b"content-type", b"text/html; charset=utf-8")]


class NativeH2Channel(Protocol, TimeoutMixin):
    """One HTTP/2 connection on libnghttp2 (see the module docstring)."""

    # Set by h2c._switch_to_h2, as for Twisted's H2Connection.
    requestFactory = None
    site = None
    factory = None
    timeOut = None

    def __init__(self):
        self.session = None
        self.streams = {}  # stream id -> _Stream, until nghttp2 closes it
        self._receiving = False  # inside session.receive: no output yet
        self._paused = False  # the transport asked its producer to pause
        self._lost = False
        self._body_limit = 0  # bytes; 0 = no limit
        self._body_sizes = {}  # stream id -> request body bytes received
        self._dropping = {}  # refused stream id -> bytes still to drop
        self._drained = None  # the future gated applications wait on
        self._writers = set()  # streams whose send waits for output to drain

    # -- the transport's side ----------------------------------------------------

    def connectionMade(self):
        self._origin = Origin(self.transport)
        server = getattr(self.factory, "server", None)
        self._server = server
        self._root_path = getattr(server, "root_path", "")
        self._body_limit = getattr(server, "max_request_body_bytes", 0)
        self.session = nghttp2.Session(self)
        h2_open.OPEN.add(self)
        self.setTimeout(self.timeOut)
        self._flush()

    def dataReceived(self, data):
        if self._lost:
            return
        self._receiving = True
        try:
            self.session.receive(data)
        except nghttp2.SessionError:
            self._receiving = False
            self._flush()
            self.transport.loseConnection()
            return
        finally:
            self._receiving = False
        self.resetTimeout()
        self._flush()

    def pauseProducing(self):
        self._paused = True

    def resumeProducing(self):
        self._paused = False
        self._flush()

    def stopProducing(self):
        self._paused = True

    def timeoutConnection(self):
        self.session.goaway(PROTOCOL_ERROR if self.streams else NO_ERROR)
        self._flush()
        self.transport.loseConnection()

    def goaway(self) -> None:
        """The server is stopping: GOAWAY(NO_ERROR); the open streams run on."""
        if not self._lost:
            self.session.goaway(NO_ERROR)
            self._flush()

    def connectionLost(self, reason):
        self._lost = True
        h2_open.OPEN.discard(self)
        self.setTimeout(None)
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            if not stream.finished:
                stream.client_gone()
        self._writers.clear()
        self._dropping.clear()
        self._body_sizes.clear()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            # Gated applications run on; their client is gone, which their
            # streams have been told.
            drained.set_result(None)

    def _flush(self) -> None:
        """Write what nghttp2 has for the transport; close when it is done."""
        if self._receiving or self._paused or self._lost:
            return
        session = self.session
        try:
            data = session.output()
        except nghttp2.SessionError:
            self.transport.loseConnection()
            return
        if data:
            self.transport.write(data)
        if session.done():
            self.transport.loseConnection()
        if self._writers or self._drained is not None:
            self._output_moved()

    # -- called by nghttp2.Session while it reads -------------------------------

    def _h2_request(self, stream_id: int, headers: list) -> None:
        scope, error = self._request(headers)
        head_only = (b":method", b"HEAD") in headers
        self.streams[stream_id] = _Stream(self, stream_id, scope, error, head_only)

    def _request(self, headers: list):
        """``(scope, error page)`` of a request's header block: one is None."""
        method = target = None
        fields, cookies = [], []
        root_path = self._root_path
        for name, value in headers:
            if name[:1] == b":":
                if name == b":method":
                    method = value
                elif name == b":path":
                    target = value
                elif name == b":authority":
                    fields.append((b"host", value))  # as Twisted's H2Stream adds it
            elif not HEADER_NAME_RE.fullmatch(name):
                return None, _error_page("Invalid header name")
            elif BAD_VALUE.search(value):
                return None, _error_page("Invalid header value")
            elif name == b"cookie":
                cookies.append(value)
            elif name == b"daphne-root-path":
                root_path = unquote(value.decode("ascii"))
            elif b"_" not in name:  # CVE-2015-0219
                fields.append((name, value))
        if target is None or not target.isascii():  # CONNECT, or not ASCII
            return None, _error_page("Invalid request target")
        if len({name for name, _ in fields}) < len(fields):
            fields = _grouped(fields)
        if cookies:
            fields.append((b"cookie", b"; ".join(cookies)))
        scope = self._origin.scope("2", method, target, fields, root_path)
        return scope, None

    def _h2_data(self, stream_id: int, data: bytes) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            self._drop(stream_id, len(data))
            return
        limit = self._body_limit
        if limit:
            size = self._body_sizes.get(stream_id, 0) + len(data)
            if size > limit:
                self._refuse_body(stream, limit)
                return
            self._body_sizes[stream_id] = size
        stream.chunks.append(data)

    def _h2_end(self, stream_id: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:  # refused: nothing more to drop
            self._dropping.pop(stream_id, None)
            return
        stream.requestComplete()

    def _h2_close(self, stream_id: int, error_code: int) -> None:
        self._dropping.pop(stream_id, None)
        self._body_sizes.pop(stream_id, None)
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            self._writers.discard(stream)
            if not stream.finished:
                stream.client_gone()

    def _h2_goaway(self) -> None:
        """The client's GOAWAY: the connection ends now, as Twisted's does."""
        self.transport.loseConnection()
        self.connectionLost(None)

    # -- request bodies ----------------------------------------------------------

    def _refuse_body(self, stream, limit: int) -> None:
        """413 on the stream; its state goes, what follows is dropped."""
        stream_id = stream.streamID
        del self.streams[stream_id]
        self._body_sizes.pop(stream_id, None)
        content_type, body = too_large(limit, stream.accept())
        head = [(b":status", b"413"), (b"content-type", content_type)]
        session = self.session
        if session.send_window(stream_id) >= len(body):
            head.append((b"content-length", b"%d" % len(body)))
        else:  # the client grants no window: the status alone
            body = b""
        if session.respond(stream_id, head, body, True):
            self._dropping[stream_id] = limit
        stream.client_gone()

    def _drop(self, stream_id: int, length: int) -> None:
        """DATA for a refused stream: past the allowance, reset it."""
        left = self._dropping.get(stream_id)
        if left is None:
            return
        if left > length:
            self._dropping[stream_id] = left - length
            return
        del self._dropping[stream_id]
        self.session.reset(stream_id, NO_ERROR)

    # -- responses ---------------------------------------------------------------

    def send(self, stream_id: int, head, data: bytes, end: bool) -> bool:
        """Queue a response's head (None once sent) and data; False if the
        stream is gone."""
        if stream_id not in self.streams:
            return False
        session = self.session
        if head is not None:
            sent = session.respond(stream_id, head, data, end)
        else:
            sent = session.write(stream_id, data, end)
        if sent:
            self.resetTimeout()
            self._flush()
        return sent

    def abort(self, stream_id: int) -> None:
        """Cut a response short (``RST_STREAM``, as Twisted's abortRequest)."""
        self.session.reset(stream_id, NO_ERROR)
        self._flush()

    # -- back-pressure -------------------------------------------------------------

    def congested(self) -> bool:
        """Whether the client has left too much output unread to start more."""
        return self._paused or self.session.finished_queued() > HIGH_WATER_BYTES

    def drained(self) -> asyncio.Future:
        """A future done when output has moved (or the connection is lost)."""
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()
        return self._drained

    def _output_moved(self) -> None:
        """Wake what waits for output to drain, if it has."""
        if self._writers:
            for stream in [s for s in self._writers if not s.blocked()]:
                self._writers.discard(stream)
                stream.output_drained()
        if self._drained is None or self.congested():
            return
        drained, self._drained = self._drained, None
        if not drained.done():
            drained.set_result(None)


def _grouped(fields: list) -> list:
    """Repeats of a name moved up behind its first, as Twisted's
    ``Headers`` (and so Daphne's scope) keeps them."""
    by_name = {}
    for name, value in fields:
        by_name.setdefault(name, []).append(value)
    return [(name, value) for name, values in by_name.items() for value in values]


def _error_page(text: str) -> bytes:
    """Daphne's ``basic_error`` page for a 400."""
    return (
        WebRequest.error_template % {"title": "400 Bad Request", "body": text}
    ).encode("utf8")


class _Stream(H2Stream):
    """One request stream and its application."""

    __slots__ = ("head_only", "error")

    def __init__(self, channel, stream_id: int, scope, error, head_only: bool):
        super().__init__(channel._server)
        self.channel = channel
        self.streamID = stream_id
        self.scope = scope
        self.chunks = []
        self.head_only = head_only  # HEAD: the response's head only
        self.error = error  # Daphne's 400 page, or None

    def requestComplete(self) -> None:
        body = b"".join(self.chunks)
        self.chunks = None
        if self.error is not None:
            self.status, self.headers = 400, _ERROR_HEAD
            self._write(self.error, False)
            return
        self.start(self.scope, body)

    def accept(self):
        """The request's ``Accept`` value, or None."""
        if self.scope is None:
            return None
        return next((v for n, v in self.scope["headers"] if n == b"accept"), None)

    # -- the response ---------------------------------------------------------

    def _write(self, body: bytes, more: bool) -> None:
        head = None
        if not self.writing:
            self.writing = True
            head = self._head()
            if self.status in NO_BODY_STATUSES:
                body = b""
        if self.head_only:
            body = b""
        if not more:
            # Finished first: nghttp2 closes the stream (``_h2_close``) as
            # it frames the last data, inside ``send``, and a stream closed
            # unfinished is a client gone (a timer to cancel its task).
            self._finish()
        if not self.channel.send(self.streamID, head, body, not more) and more:
            self.client_gone()

    def _abandon(self) -> None:
        self.channel.abort(self.streamID)

    # -- back-pressure ---------------------------------------------------------

    def blocked(self) -> bool:
        """Whether data of this stream waits to be sent."""
        channel = self.channel
        return channel._paused or channel.session.queued(self.streamID) > 0
