"""The TCP transport of every accepted connection: writes flushed per loop turn.

Twisted's stock transport buffers each ``write`` and registers the socket
for writability; the loop's next poll reports it writable, a chain of
Python wrappers runs ``doWrite`` and the registration is dropped again.
That is two ``epoll_ctl`` calls, an extra poll and ~20 us of Python per
response, and a response that is ready now leaves one poll later.
``TurnFlushedServer`` instead sends what was written at the end of the
current loop turn (``call_soon``), so the header and body writes of one
response, or the frames of one take-stream turn, leave in one ``send``.
Only when the kernel does not take everything (a slow reader), or the
connection is closing, does it fall back to Twisted's writability
registration, which then finishes the job exactly as it always did.

A peer that goes away is normal and is reported as a lost connection,
never as an error. A peer that resets the connection (``SO_LINGER`` 0)
right after sending makes epoll report the socket readable and in error at
once: libuv then stops its poll handle and uvloop closes it after one
last read, which hands the request to the protocol, while Twisted still
takes the socket for one it reads. Nothing would ever report that connection
lost: a response would fail to register for writability on the closed
handle (``RuntimeError ... UVPoll closed``) and a partial request would
keep its socket open until the idle timeout. So a read is followed by a
look at the socket's pending error (``SO_ERROR``, one system call), and a
reset there, or a send that fails, loses the connection at once, as the
reactor does when an I/O callback it drives reports a failure.

The connection's own address is also remembered: Daphne asks for it on
every request, and Twisted answers with a ``getsockname`` system call.

Twisted API relied on (pinned, covered by tests/zizq_server/test_daphne_h2c.py):
``tcp.Port.transport`` (the class a listening port wraps accepted sockets
in), ``tcp.Connection.doRead``, ``abstract.FileDescriptor``'s ``doWrite``,
``dataBuffer``, ``offset``, ``_tempDataLen`` and ``_writeDisconnecting``,
and the reactor's ``_disconnectSelectable``.
"""

from socket import SO_ERROR, SOL_SOCKET

from twisted.internet import main, tcp


class TurnFlushedServer(tcp.Server):
    """An accepted TCP connection whose writes leave at the end of the turn."""

    _flush_scheduled = False
    _host = None

    def doRead(self):
        lost = super().doRead()
        if lost is None and self.connected and self.socket.getsockopt(
            SOL_SOCKET, SO_ERROR
        ):
            # The peer reset the connection: this may have been the poll
            # handle's last read (see the module docstring).
            return main.CONNECTION_LOST
        return lost

    def startWriting(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.reactor._asyncioEventloop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self.connected:
            return
        if self.disconnecting or self._writeDisconnecting:
            # Closing (``loseConnection`` calls startWriting just before it
            # sets ``disconnecting``): the reactor drains and closes as usual.
            super().startWriting()
            return
        failed = self.doWrite()
        if failed is not None:
            # The peer is gone (a reset, a broken pipe): report it now, as
            # the reactor does when a write it drives fails.
            self.reactor._disconnectSelectable(self, failed, False)
        elif self._tempDataLen or self.offset < len(self.dataBuffer):
            # The kernel's buffer is full: the reactor's writability
            # callback sends the rest.
            super().startWriting()

    def unsent_bytes(self) -> int:
        """Bytes written but not yet taken by the kernel: what a client that
        stops reading has let pile up here."""
        return len(self.dataBuffer) - self.offset + self._tempDataLen

    def getHost(self):
        if self._host is None:
            self._host = super().getHost()
        return self._host


class TurnFlushedPort(tcp.Port):
    """A listening TCP port whose connections use ``TurnFlushedServer``."""

    transport = TurnFlushedServer


def listen_tcp(reactor, port: int, factory, interface: str) -> TurnFlushedPort:
    """``reactor.listenTCP`` with the turn-flushed transport."""
    listening = TurnFlushedPort(port, factory, interface=interface, reactor=reactor)
    listening.startListening()
    return listening
