"""The half of an HTTP/2 request stream both connection classes share.

``serve/h2.py`` (hyper-h2, the twin) and ``serve/h2_native.py``
(libnghttp2) each have their own stream class for what differs between
the two libraries: how a response is framed, how a stream is abandoned,
and how a stream knows its data waits to be sent (``blocked``). The
response head and the back-pressure gate around the application are the
same for both, and live here once, as does Daphne's check of header
values (``BAD_VALUE``).
"""

import re

from daphne.utils import INVALID_HEADER_VALUE_BYTES

from .exchange import Exchange

# A value with a byte of RFC 9110 section 5.5 that Daphne refuses; a search
# costs half of ``INVALID_HEADER_VALUE_BYTES.intersection(value)``.
BAD_VALUE = re.compile(
    b"[%s]" % re.escape(bytes(sorted(INVALID_HEADER_VALUE_BYTES)))
)


class H2Stream(Exchange):
    """A request stream's response head and its application's gate.

    A subclass sets ``channel`` (its connection, with ``congested``,
    ``drained`` and the ``_writers`` set) and defines ``blocked``.
    """

    __slots__ = ("channel", "streamID", "scope", "chunks")

    def _head(self) -> list:
        head = [(b":status", b"%d" % self.status)]
        for name, value in self.headers:
            if not isinstance(name, bytes) or not isinstance(value, bytes):
                raise ValueError("Header names and values must be bytes")
            head.append((name.lower(), value))
        return head

    def _application(self, scope: dict):
        return self.server.start_application(scope, self.receive, self.send, self)

    def waits(self) -> bool:
        """Whether the application must wait before it runs (the gate)."""
        return self.channel.congested()

    async def wait(self) -> bool:
        """Wait while the connection is congested; False if the client went
        meanwhile (the application then never runs)."""
        channel = self.channel
        while not self.finished and channel.congested():
            await channel.drained()
        return not self.finished

    def congested(self) -> bool:
        if self.blocked():
            self.channel._writers.add(self)  # woken by _output_moved
            return True
        return False

    def blocked(self) -> bool:
        """Whether data of this stream waits to be sent."""
        raise NotImplementedError
