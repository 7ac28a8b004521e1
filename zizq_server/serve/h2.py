"""HTTP/2 streams of the everyday shape, handed to the application directly.

Twisted's ``H2Connection`` gives every request stream an ``H2Stream`` and a
Daphne ``WebRequest`` (a ``Headers`` object, ``inlineCallbacks``, an
``asyncio.Queue`` and a connection-table entry per request, as on HTTP/1.1),
and sends response data through a per-stream queue that a priority loop
drains one DATA frame per reactor turn (``callLater(0)``): a response's
head, body and end of stream leave in three turns and three ``send`` calls.
A single enqueue over h2c cost ~1,626k instructions, against ~230k over
HTTP/1.1 (bench/instructions.py).

``H2Channel`` is that connection with two shortcuts, each of which falls
back to the stock path whenever the stock outcome is not known to be the
same:

- A request stream whose headers Daphne would take as they are (names it
  accepts and none repeated, values without the bytes it refuses, an
  origin-form ASCII path, a method other than ``HEAD``, no ``Expect``,
  ``Upgrade`` or ``daphne-root-path``) runs as an ASGI application task
  with the scope Daphne builds (``_Stream``). Any other stream keeps the
  ``H2Stream`` and ``WebRequest`` pair, errors included, but for a
  header name that is not a token (``x(y``), which Twisted's ``Headers``
  raises on: that stream gets RST_STREAM(PROTOCOL_ERROR), as on libnghttp2.
- A shortcut stream's response body is sent as soon as it is written,
  with ``END_STREAM`` on the last frame, when nothing of that stream is
  queued, the flow-control windows hold it and the transport is not
  paused. Otherwise it joins Twisted's queue, which deals with windows,
  frame sizes and back-pressure as before.

Received header blocks are checked as hyper-h2 checks them, in one pass
for the everyday request (``h2_inbound.Connection``). What a connection may
cost (the request body limit, responses the client does not read) is
bounded by ``h2_limits.H2Limits``. Everything else (frames, settings, flow
control, resets and the Rapid Reset limit, timeouts, GOAWAY) is Twisted's,
but for the GOAWAY of a graceful stop (``goaway``, called through
``h2_open``).

Two repairs to Twisted's part, for misbehaving peers:

- Twisted hands on every event of a read, even after one of them (a reset
  over the Rapid Reset limit, the peer's GOAWAY) has torn the connection
  down: the requests after it started applications whose answers raised
  ``ProtocolError`` (``SEND_HEADERS in state CLOSED``) and kept their
  streams in the connection's tables for good. ``dataReceived`` stops at
  the event that ends the connection.
- Twisted puts every stream a PRIORITY frame names (idle, closed, or the
  parent another depends on) into its priority tree, and nothing takes it
  out again: ~1,000 such frames fill the tree (``TooManyStreamsError``)
  and every request after them fails. Here the tree holds the open
  streams only, which is all it schedules, and priority signals about any
  other stream are ignored, as RFC 9113 (section 5.3) allows.

Twisted API relied on (pinned; covered by tests/zizq_server/test_h2.py):
``H2Connection``'s ``conn``, ``streams``, ``_streamCleanupCallbacks``,
``_outboundStreamQueues``, ``priority``, ``_consumerBlocked``,
``_stillProducing``, ``_terminate``, the event handlers its
``dataReceived`` calls (``_requestReceived`` and the others named in
``_HANDLERS``), ``_requestDone``, ``_tryToWriteControlData``,
``writeHeaders``, ``writeDataToStream``, ``endRequest``, ``abortRequest``,
``openStreamWindow``; and the stream interface it calls
(``receiveDataChunk``, ``requestComplete``, ``connectionLost``,
``windowUpdated``, ``flowControlBlocked``, ``streamID``).
"""

import re
from collections import deque

import h2.events
import h2.exceptions
from daphne.utils import HEADER_NAME_RE
from h2.errors import ErrorCodes
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.web._http2 import H2Connection

from . import h2_open
from .exchange import NO_BODY_STATUSES, Origin
from .h2_inbound import Connection
from .h2_limits import H2Limits
from .h2_stream import BAD_VALUE, H2Stream

__all__ = ["H2Channel"]

# An origin-form target: printable ASCII, no spaces (as http1 takes).
_TARGET = re.compile(rb"/[\x21-\x7e]*")
# Daphne's checks (daphne.utils), for a whole header block at once: token
# names (joined by spaces) and values without the bytes of RFC 9110
# section 5.5 it refuses (h2_stream.BAD_VALUE).
_TOKEN = HEADER_NAME_RE
_NAMES = re.compile(rb"(?:%s(?: %s)*)?" % (_TOKEN.pattern, _TOKEN.pattern))
# Request headers the stock path gives a meaning beyond passing them on.
_SPECIAL = frozenset((b"expect", b"upgrade", b"daphne-root-path"))
# The H2Connection method Twisted's dataReceived hands each event kind to.
_HANDLERS = {
    h2.events.RequestReceived: "_requestReceived",
    h2.events.DataReceived: "_requestDataReceived",
    h2.events.StreamEnded: "_requestEnded",
    h2.events.StreamReset: "_requestAborted",
    h2.events.WindowUpdated: "_handleWindowUpdate",
    h2.events.PriorityUpdated: "_handlePriorityUpdate",
    h2.events.ConnectionTerminated: "_peerTerminated",
}


def parse_headers(headers):
    """``(method, target, headers)`` of a request stream the shortcut takes,
    or None for one that goes the stock way.

    ``headers`` are the stream's header block as hyper-h2 delivers it
    (validated: pseudo-headers first, lowercase names). The result's
    headers are what Daphne puts in the scope: ``:authority`` as ``host``,
    then the others in arrival order, without names containing ``_``
    (CVE-2015-0219).
    """
    method = target = None
    fields = []
    for name, value in headers:
        if name[:1] != b":":
            fields.append((name, value))
        elif name == b":method":
            method = value
        elif name == b":path":
            target = value
        elif name == b":authority":
            fields.append((b"host", value))  # as Twisted's H2Stream adds it
    names = [name for name, _ in fields]
    joined = b" ".join(names)
    if (
        target is None
        or method is None
        or method == b"HEAD"
        or not _TOKEN.fullmatch(method)
        or not _TARGET.fullmatch(target)
        or not _NAMES.fullmatch(joined)
        or BAD_VALUE.search(b"".join([value for _, value in fields]))
        or len(set(names)) < len(names)
        or not _SPECIAL.isdisjoint(names)
    ):
        return None
    if b"_" in joined:
        fields = [(name, value) for name, value in fields if b"_" not in name]
    return method, target, fields


class H2Channel(H2Limits, H2Connection):
    """Twisted's HTTP/2 connection with the shortcuts described above."""

    def __init__(self, reactor=None):
        super().__init__(reactor)
        self.conn = Connection()  # received header blocks checked in one pass

    def connectionMade(self):
        super().connectionMade()
        self._origin = Origin(self.transport)
        h2_open.OPEN.add(self)

    def connectionLost(self, reason, _cancelTimeouts=True):
        h2_open.OPEN.discard(self)
        super().connectionLost(reason, _cancelTimeouts)

    def goaway(self) -> None:
        """The server is stopping: GOAWAY(NO_ERROR, last stream), then close.

        hyper-h2 can send nothing after its GOAWAY, so the connection
        closes once the frame is written (the native class lets its open
        streams finish).
        """
        self.conn.close_connection()
        self.transport.write(self.conn.data_to_send())
        self.transport.loseConnection()

    def dataReceived(self, data):
        """Twisted's, up to the event that ends the connection."""
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._terminate(Failure())  # hyper-h2 has queued the GOAWAY
            return
        self.resetTimeout()
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                getattr(self, handler)(event)
                if not self._stillProducing:
                    return  # torn down: the later events are moot
        self._tryToWriteControlData()

    def _peerTerminated(self, event):
        self.transport.loseConnection()
        self.connectionLost(
            Failure(ConnectionLost("Remote peer sent GOAWAY")), _cancelTimeouts=False
        )

    def _handlePriorityUpdate(self, event):
        """Reprioritise an open stream, after an open parent or the root."""
        stream_id, depends_on = event.stream_id, event.depends_on
        if stream_id not in self.streams:
            return
        if depends_on not in self.streams:
            depends_on = None
        self.priority.reprioritize(
            stream_id, depends_on, event.weight, event.exclusive
        )

    def _requestReceived(self, event):
        parsed = parse_headers(event.headers)
        if parsed is None:
            if not all(_TOKEN.fullmatch(n) for n, _ in event.headers if n[:1] != b":"):
                # Twisted's H2Stream would raise InvalidHeaderName (logged
                # as unhandled): a stream error, as libnghttp2 answers it.
                self.conn.reset_stream(event.stream_id, ErrorCodes.PROTOCOL_ERROR)
                self._tryToWriteControlData()
                return None
            return super()._requestReceived(event)
        stream_id = event.stream_id
        scope = self._origin.scope("2", *parsed, self.factory.server.root_path)
        self.streams[stream_id] = _Stream(self, stream_id, scope)
        # The bookkeeping H2Connection keeps for each of its streams.
        self._streamCleanupCallbacks[stream_id] = Deferred()
        self._outboundStreamQueues[stream_id] = deque()
        # No PRIORITY frame puts a stream in the tree before it opens.
        self.priority.insert_stream(stream_id)
        self.priority.block(stream_id)
        return None

    def send(self, stream_id: int, head, data: bytes, end: bool) -> bool:
        """Send a response's head (None once sent) and data; False if the
        stream is gone.

        The data leaves now, ``END_STREAM`` on its last frame when ``end``,
        unless the transport is paused, earlier data of the stream is still
        queued or the flow-control windows do not hold it: then it joins
        Twisted's queue.
        """
        conn = self.conn
        try:
            if head is not None:
                conn.send_headers(stream_id, head, end_stream=end and not data)
                if end and not data:
                    self._requestDone(stream_id)
                    self._tryToWriteControlData()
                    return True
            if (
                self._consumerBlocked is not None
                or self._outboundStreamQueues[stream_id]
                or conn.local_flow_control_window(stream_id) < len(data)
            ):
                self._tryToWriteControlData()  # the head, if any
                if data:
                    self.writeDataToStream(stream_id, data)
                if end:
                    self.endRequest(stream_id)
                return True
            size, at = conn.max_outbound_frame_size, 0
            while len(data) - at > size:
                conn.send_data(stream_id, data[at : at + size])
                at += size
            conn.send_data(stream_id, data[at:], end_stream=end)
        except h2.exceptions.ProtocolError:
            # The stream (a reset) or the connection (a GOAWAY) is closed.
            self._forget(stream_id)
            return False
        if end:
            self._requestDone(stream_id)
        self.resetTimeout()
        self._tryToWriteControlData()
        return True

    def _forget(self, stream_id: int) -> None:
        """Drop a stream hyper-h2 has closed under us (as a reset would)."""
        if stream_id in self.streams:
            self._requestDone(stream_id)


class _Stream(H2Stream):
    """One request stream through the shortcut, with the stream interface
    ``H2Connection`` calls."""

    __slots__ = ()
    gated = True  # H2Channel starts its application behind a gate (waits)

    def __init__(self, channel: H2Channel, stream_id: int, scope: dict):
        super().__init__(channel.factory.server)
        self.channel = channel
        self.streamID = stream_id
        self.scope = scope
        self.chunks = []

    # -- called by H2Connection -------------------------------------------

    def receiveDataChunk(self, data: bytes, flow_controlled_length: int) -> None:
        self.chunks.append(data)
        self.channel.openStreamWindow(self.streamID, flow_controlled_length)

    def requestComplete(self) -> None:
        body = b"".join(self.chunks)
        self.chunks = None
        self.start(self.scope, body)

    def connectionLost(self, reason) -> None:
        if not self.finished:
            self.client_gone()

    def windowUpdated(self) -> None:
        """Queued data is Twisted's to send; there is no producer to wake."""

    def flowControlBlocked(self) -> None:
        """The application is not paused: its data waits in the queue."""

    # -- the response ---------------------------------------------------------

    def _write(self, body: bytes, more: bool) -> None:
        head = None
        if not self.writing:
            self.writing = True
            head = self._head()
            if self.status in NO_BODY_STATUSES:
                body = b""
        if not self.channel.send(self.streamID, head, body, not more):
            self.client_gone()
        elif not more:
            self._finish()

    def _abandon(self) -> None:
        self.channel.abortRequest(self.streamID)

    # -- back-pressure (h2_limits) -------------------------------------------

    def blocked(self) -> bool:
        """Whether data of this stream waits to be sent."""
        channel = self.channel
        return channel._consumerBlocked is not None or bool(
            channel._outboundStreamQueues.get(self.streamID)
        )
