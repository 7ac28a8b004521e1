"""What one HTTP/2 connection may cost: the body limit, and output the client does not read.

``H2Limits`` is mixed into ``h2.H2Channel`` (Twisted's ``H2Connection``)
and bounds three things.

- **Request bodies.** Each stream's DATA is counted as it arrives; past the
  server's limit the stream gets a 413 (``limits.too_large``) with
  ``END_STREAM`` and its state is dropped as for a reset. What the client
  still sends on it is dropped (its flow-control window given back), as
  many bytes again as the limit at most: then ``RST_STREAM(NO_ERROR)``
  tells the client to stop (RFC 9113 section 8.1). Resetting at once
  would be enough for the protocol, but clients that send the whole body
  before reading (httpx) then report an error instead of the 413.
- **Responses nobody reads.** A client that does not read (TCP) or grants
  no flow-control window can leave every response it asks for queued in
  the server: 20 list pages on one connection held 4.4 GiB. A connection
  is *congested* while its transport is paused (Twisted's producer
  protocol: more than 64 KiB unsent) or complete responses hold more than
  ``HIGH_WATER_BYTES`` in Twisted's per-stream queues; while it is, no
  further application starts. A shortcut stream's application checks when
  its task first runs (the stream is the gate ``start_application`` runs
  it behind: ``waits``, ``wait``), not when the request ends: the
  requests of one read all start in the same loop turn, and only the
  output of those before it tells whether to go on. The streams the stock
  path serves (Daphne's request, rare) are started one per loop turn and
  only while not congested.
  Output moves when Twisted's sending loop sends a frame, when the
  transport resumes and when a stream ends: each re-checks.
- **Streaming responses.** A shortcut stream whose own queue holds data
  makes its application's next ``more_body`` send wait (``Exchange``),
  so a take stream nobody reads stops rendering frames.

A response is sent from Twisted's queue as a ``memoryview``: Twisted cuts
a frame off the front of the queued chunk and re-queues the rest, which
for ``bytes`` copies the remainder for every frame (quadratic in the
response size).

Twisted API relied on (pinned; covered by tests/zizq_server/test_limits.py):
``H2Connection``'s ``_requestDataReceived``, ``_requestEnded``,
``_requestAborted``, ``_requestDone``, ``connectionLost``, ``_sendPrioritisedData``,
``resumeProducing``, ``writeDataToStream``, ``endRequest``,
``_consumerBlocked``, ``_outboundStreamQueues``, ``streams``, ``conn``,
``_tryToWriteControlData``; ``_END_STREAM_SENTINEL``; ``H2Stream``'s
``_request`` (for its ``Accept``).
"""

import asyncio
from collections import deque

import h2.errors
import h2.exceptions
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.web._http2 import _END_STREAM_SENTINEL

from .limits import HIGH_WATER_BYTES, too_large

__all__ = ["H2Limits"]


class H2Limits:
    """The bounds described above, for an ``H2Connection`` subclass."""

    def __init__(self, reactor=None):
        super().__init__(reactor)
        self._body_limit = 0  # bytes; 0 = no limit
        self._body_sizes = {}  # stream id -> request body bytes received
        self._dropping = {}  # refused stream id -> bytes still to drop
        self._finished_queued = set()  # ids of complete responses still queued
        self._drained = None  # the future gated applications wait on
        self._stock_waiting = deque()  # ids of stock streams not started yet
        self._stock_started = False  # one started in this loop turn
        self._writers = set()  # shortcut streams whose send waits to drain

    def connectionMade(self):
        super().connectionMade()
        # Read once per connection; 0 = no limit (also without a server).
        server = getattr(self.factory, "server", None)
        self._body_limit = getattr(server, "max_request_body_bytes", 0)

    # -- request bodies ------------------------------------------------------

    def _requestDataReceived(self, event):
        stream_id = event.stream_id
        if stream_id not in self.streams:
            self._drop(stream_id, event.flow_controlled_length)
            return
        limit = self._body_limit
        if limit:
            size = self._body_sizes.get(stream_id, 0) + len(event.data)
            if size > limit:
                self._refuse_body(stream_id)
                return
            self._body_sizes[stream_id] = size
        super()._requestDataReceived(event)

    def _refuse_body(self, stream_id: int) -> None:
        """413 on the stream; its state goes, what follows is dropped."""
        stream = self.streams[stream_id]
        content_type, body = too_large(self._body_limit, _accept(stream))
        head = [(b":status", b"413"), (b"content-type", content_type)]
        conn = self.conn
        try:
            if conn.local_flow_control_window(stream_id) >= len(body):
                head.append((b"content-length", b"%d" % len(body)))
                conn.send_headers(stream_id, head)
                conn.send_data(stream_id, body, end_stream=True)
            else:  # the client grants no window: the status alone
                conn.send_headers(stream_id, head, end_stream=True)
        except h2.exceptions.StreamClosedError:
            pass
        else:
            self._dropping[stream_id] = self._body_limit
        stream.connectionLost(Failure(ConnectionLost("request body too large")))
        self._requestDone(stream_id)
        self._tryToWriteControlData()

    def _drop(self, stream_id: int, length: int) -> None:
        """DATA for a stream that is gone (refused, or reset in the same
        read): give its window back; past the allowance, reset it."""
        self.conn.acknowledge_received_data(length, stream_id)
        left = self._dropping.get(stream_id)
        if left is None:
            return
        if left > length:
            self._dropping[stream_id] = left - length
            return
        del self._dropping[stream_id]
        try:
            self.conn.reset_stream(stream_id, h2.errors.ErrorCodes.NO_ERROR)
        except h2.exceptions.StreamClosedError:
            pass

    def _requestAborted(self, event):
        if event.stream_id in self.streams:
            super()._requestAborted(event)
        else:  # a refused stream the client gave up
            self._dropping.pop(event.stream_id, None)

    # -- starting applications -------------------------------------------------

    def congested(self) -> bool:
        """Whether the client has left too much output unread to start more."""
        if self._consumerBlocked is not None:
            return True
        if not self._finished_queued:
            return False
        queues = self._outboundStreamQueues
        queued = 0
        for stream_id in self._finished_queued:
            for chunk in queues.get(stream_id, ()):
                if chunk is not _END_STREAM_SENTINEL:
                    queued += len(chunk)
        return queued > HIGH_WATER_BYTES

    def drained(self) -> asyncio.Future:
        """A future done when output has moved (or the connection is lost):
        a gated application checks ``congested`` again then."""
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()
        return self._drained

    def _requestEnded(self, event):
        stream_id = event.stream_id
        stream = self.streams.get(stream_id)
        if stream is None:  # refused, or reset earlier in the same read
            self._dropping.pop(stream_id, None)
            return
        if getattr(stream, "gated", False):
            stream.requestComplete()  # its application waits for writable()
            return
        self._stock_waiting.append(stream_id)
        self._start_stock()

    def _start_stock(self) -> None:
        """Start the next stock stream, unless one started in this turn or
        the connection is congested."""
        while self._stock_waiting and not self._stock_started and not self.congested():
            stream = self.streams.get(self._stock_waiting.popleft())
            if stream is not None:
                self._stock_started = True
                asyncio.get_running_loop().call_soon(self._next_turn)
                stream.requestComplete()

    def _next_turn(self) -> None:
        self._stock_started = False
        self._start_stock()

    # -- output moving ---------------------------------------------------------

    def writeDataToStream(self, streamID, data):
        if len(data) > self.conn.max_outbound_frame_size:
            data = memoryview(data)  # framed without copying the rest each time
        super().writeDataToStream(streamID, data)

    def endRequest(self, streamID):
        super().endRequest(streamID)
        self._finished_queued.add(streamID)

    def _requestDone(self, streamID):
        super()._requestDone(streamID)
        self._finished_queued.discard(streamID)
        self._body_sizes.pop(streamID, None)
        self._output_moved()

    def _sendPrioritisedData(self, *args):
        super()._sendPrioritisedData(*args)
        self._output_moved()

    def resumeProducing(self):
        super().resumeProducing()
        self._output_moved()

    def _output_moved(self) -> None:
        """Wake what waits for output to drain, if it has."""
        if self._writers:
            for stream in [s for s in self._writers if not s.blocked()]:
                self._writers.discard(stream)
                stream.output_drained()
        if self._drained is None and not self._stock_waiting:
            return
        if self.congested():
            return
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)
        self._start_stock()

    def connectionLost(self, reason, _cancelTimeouts=True):
        super().connectionLost(reason, _cancelTimeouts=_cancelTimeouts)
        self._stock_waiting.clear()
        self._writers.clear()
        self._finished_queued.clear()
        self._dropping.clear()
        if self._drained is not None and not self._drained.done():
            # Gated applications run on; their client is gone, which their
            # streams have been told.
            self._drained.set_result(None)
        self._drained = None


def _accept(stream):
    """The ``Accept`` value of a shortcut (scope) or stock (request) stream."""
    scope = getattr(stream, "scope", None)
    if scope is not None:
        return next((v for n, v in scope["headers"] if n == b"accept"), None)
    values = stream._request.requestHeaders.getRawHeaders(b"accept")
    return values[0] if values else None
