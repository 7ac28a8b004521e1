"""Run Daphne in-process: named listeners, h2c, uvloop and a graceful stop.

``run()`` owns the process's reactor from binding to shutdown. It does not
use ``daphne.server.Server.run()``, which binds asynchronously (a busy port
becomes a log line and a stopped reactor, not an error the caller can
report) and has no graceful stop; it reuses the Server's connection
bookkeeping, reply path and periodic checkers.

- Each listener gets its own HTTP factory whose ``server`` is a view of the
  one shared Server. Daphne's HTTP and WebSocket protocols create their
  application through ``factory.server``, so the view stamps
  ``scope["listener"]`` on every scope, whatever the protocol.
- HTTP/1.1 requests and HTTP/2 streams of the everyday shape skip
  Twisted's parsers and Daphne's request (``http1.Http1Channel``,
  ``h2.H2Channel``); the view starts their application instances
  (``start_application``) and the shutdown cancels them with Daphne's
  own.
- Listeners bind synchronously, in list order, before the reactor starts:
  a bind failure raises ``BindError`` out of ``run()`` with nothing left
  running. A listener with ``tls`` wraps the same factory in TLS
  (``tls_transport``) on the same turn-flushed TCP port.
- The first SIGINT/SIGTERM stops the listening sockets, awaits ``on_stop``
  and then stops the reactor, which cancels whatever application
  instances are still running; a second signal stops waiting for
  ``on_stop``.

Import this module before anything imports ``daphne.server`` or
``twisted.internet.reactor`` (``"daphne"`` in INSTALLED_APPS does, at
``django.setup()``): Daphne creates its event loop and installs Twisted's
asyncio reactor on it when ``daphne.server`` is first imported, and only a
loop created after the policy below is a uvloop one (~+12% requests/s,
DESIGN.md section 2). ``run()`` refuses to start on another loop.
"""

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne.http_protocol import HTTPFactory, WebRequest  # noqa: E402
from daphne.server import Server  # noqa: E402
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402
from twisted.internet.error import CannotListenError  # noqa: E402
from twisted.logger import (  # noqa: E402
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    STDLibLogObserver,
    globalLogBeginner,
)

from zizq_server.serve.h2c import h2c_channel_protocol  # noqa: E402
from zizq_server.serve.tls_transport import ListenerTls, tls_factory  # noqa: E402
from zizq_server.serve.transport import listen_tcp  # noqa: E402

__all__ = ["BindError", "ListenerSpec", "run"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class ListenerSpec:
    """One socket to listen on, and the name its requests carry."""

    name: str  # "primary" or "admin": becomes scope["listener"]
    host: str  # IP literal (IPv6 with or without brackets) or host name
    port: int  # 0 asks the OS for a free port
    tls: ListenerTls | None = None  # HTTPS with this configuration

    @property
    def interface(self) -> str:
        return self.host.strip("[]")

    @property
    def address(self) -> str:
        if ":" in self.interface:
            return f"[{self.interface}]:{self.port}"
        return f"{self.interface}:{self.port}"


class BindError(Exception):
    """Raised when a listener cannot bind; the message is the OS's reason
    and the address, e.g. "Address already in use (127.0.0.1:7890)"."""


def run(
    application,
    listeners: list[ListenerSpec],
    *,
    on_listening: Callable[[str, str, int], None],
    on_ready: Callable[[], Awaitable[None]],
    on_stop: Callable[[], Awaitable[None]],
    max_request_body_bytes: int = 0,
) -> None:
    """Serve ``application`` on ``listeners`` until SIGINT or SIGTERM.

    ``on_listening(name, host, port)`` is called after each bind, in list
    order, with the real port. ``on_ready()`` then runs on the server's
    event loop; ``on_stop()`` is awaited there after a stop signal, once no
    listener accepts connections any more. An exception from either is
    re-raised by ``run()`` after the reactor has stopped. Request bodies
    over ``max_request_body_bytes`` (0 = no limit) are refused with 413
    (``limits``).
    """
    loop = _uvloop_of_reactor()
    _route_framework_logs()
    server = _daphne_server(application, listeners)
    server.max_request_body_bytes = max_request_body_bytes
    lifecycle = _Lifecycle(loop, on_ready, on_stop)
    # Before the first bind: a supervisor may signal as soon as a listening
    # line appears, and that stop must already be graceful.
    lifecycle.catch_early_signals()
    try:
        lifecycle.ports = _bind_all(server, listeners, on_listening)
        asyncio.set_event_loop(loop)
        reactor.callLater(1, server.application_checker)
        reactor.callLater(2, server.timeout_checker)
        reactor.addSystemEventTrigger(
            "before", "shutdown", _cancel_applications, server
        )
        # In the loop's first turn, not in Twisted's start-up triggers, which
        # fire before run_forever (see _Lifecycle.catch_early_signals).
        reactor.callWhenRunning(loop.call_soon, lifecycle.start)
        reactor.run(installSignalHandlers=False)
    finally:
        lifecycle.release_signals()
    if lifecycle.error is not None:
        raise lifecycle.error


def _uvloop_of_reactor() -> asyncio.AbstractEventLoop:
    loop = reactor._asyncioEventloop
    if not isinstance(loop, uvloop.Loop):
        raise RuntimeError(
            "Twisted's reactor is not running on uvloop: import "
            "zizq_server.serve.daphne before daphne.server or "
            "twisted.internet.reactor is imported"
        )
    return loop


def _route_framework_logs() -> None:
    """Keep Twisted's and Daphne's own lines off stdout.

    Clients parse the structured log on stdout, so framework chatter must
    not reach it. Twisted's errors still go to the stdlib "twisted" logger
    and Daphne's warnings and errors (an application exception, a handler
    that outlived its connection) to "daphne", where the project's logging
    configuration decides their fate.
    """
    errors_only = LogLevelFilterPredicate(defaultLogLevel=LogLevel.error)
    observer = FilteringLogObserver(STDLibLogObserver(name="twisted"), [errors_only])
    globalLogBeginner.beginLoggingTo(
        [observer], discardBuffer=True, redirectStandardIO=False
    )
    logging.getLogger("daphne").setLevel(logging.WARNING)


def _daphne_server(application, listeners: list[ListenerSpec]) -> Server:
    server = Server(
        application,
        # Server.run() is never called: endpoints only has to be non-empty.
        endpoints=[spec.address for spec in listeners],
        signal_handlers=False,
        action_logger=None,
        # No "server: daphne" header: clients do not need it, and adding it
        # to every response costs a header lookup and a header write.
        server_name="",
        # Take streams and event sockets live as long as their clients do.
        http_timeout=None,
        websocket_timeout=-1,
    )
    # What Server.run() would have set up before listening.
    server.connections = {}
    # Application instances of requests that came through a shortcut
    # (http1, h2) and so are not in server.connections.
    server.shortcut_instances = set()
    return server


def _bind_all(
    server: Server,
    listeners: list[ListenerSpec],
    on_listening: Callable[[str, str, int], None],
) -> list:
    ports = []
    for spec in listeners:
        factory = _ListenerFactory(_ListenerView(server, spec.name))
        if spec.tls is not None:
            factory = tls_factory(spec.tls, factory)
        try:
            port = listen_tcp(reactor, spec.port, factory, spec.interface)
        except CannotListenError as exc:
            for bound in ports:
                bound.stopListening()
            reason = exc.socketError.strerror or str(exc.socketError)
            raise BindError(f"{reason} ({spec.address})") from None
        ports.append(port)
        bound = port.getHost()  # the real IP, whatever name the host was
        on_listening(spec.name, bound.host, bound.port)
    return ports


class _ListenerView:
    """The shared Daphne Server as one listener's connections see it.

    Daphne's request and WebSocket protocols only ever reach the server
    through ``factory.server``: the view adds ``scope["listener"]`` and
    brings its own WebSocket factory (whose protocols hold on to the view);
    everything else is the shared Server's, so connection tracking,
    timeouts and replies are common to all listeners.
    """

    def __init__(self, server: Server, name: str):
        self._server = server
        self.name = name
        self.root_path = server.root_path  # read per request by the shortcuts
        self.ws_factory = _websocket_factory(self, server)

    def __getattr__(self, attribute):
        return getattr(self._server, attribute)

    def create_application(self, protocol, scope):
        scope["listener"] = self.name
        if scope["type"] == "websocket":
            # How much the client has not read yet: Daphne has no
            # backpressure, so a feed paces itself by it (api/admin/event_hub).
            unsent = getattr(protocol.transport, "unsent_bytes", None)
            if unsent is not None:
                scope["extensions"] = {"zizq.unsent_bytes": unsent}
        return self._server.create_application(protocol, scope)

    def start_application(self, scope, receive, send, gate=None) -> asyncio.Task:
        """Run the application for a request of a shortcut (http1, h2);
        with a ``gate``, only once it lets it (``h2_limits``)."""
        scope["listener"] = self.name
        application = self._server.application(scope, receive, send)
        if gate is not None:
            application = _gated(gate, application)
        task = asyncio.get_running_loop().create_task(application)
        running = self._server.shortcut_instances
        running.add(task)
        task.add_done_callback(running.discard)
        return task


class _WebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket protocol, quiet about handshakes it never saw.

    Daphne takes its server (``self.server``) and registers the connection
    in ``onConnect``, which autobahn calls only for a well-formed opening
    handshake; one it refuses itself (a missing key, an unsupported
    version: a 400) still ends in ``onClose``, whose bookkeeping then
    raised ``AttributeError`` into Twisted's log for every such request.
    """

    def onClose(self, wasClean, code, reason):
        if "server" in self.__dict__:
            super().onClose(wasClean, code, reason)


async def _gated(gate, application):
    """``application``, once ``gate`` lets it run (not at all if
    ``await gate.wait()`` says no)."""
    if gate.waits():
        try:
            go = await gate.wait()
        except BaseException:
            application.close()
            raise
        if not go:
            application.close()
            return None
    return await application


def _websocket_factory(view: _ListenerView, server: Server) -> WebSocketFactory:
    # The options Server.run() gives its own WebSocket factory.
    factory = WebSocketFactory(view, server=server.server_name)
    factory.protocol = _WebSocketProtocol
    factory.setProtocolOptions(
        autoPingTimeout=server.ping_timeout,
        allowNullOrigin=True,
        openHandshakeTimeout=server.websocket_handshake_timeout,
        maxMessagePayloadSize=server.websocket_max_message_size,
        maxFramePayloadSize=server.websocket_max_frame_size,
    )
    return factory


class _RawBodyRequest(WebRequest):
    """Daphne's request without Twisted's form parsing.

    Twisted parses the Content-Type of every POST with a body through the
    email package to decode HTML form submissions: ~20% of the CPU of an
    enqueue. Daphne hands raw bodies to the application and never reads
    Twisted's form arguments, so the parse is switched off.
    """

    def __init__(self, *args, **kwargs):
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)


class _ListenerFactory(HTTPFactory):
    """Daphne's HTTP factory, also speaking h2c (see h2c.py)."""

    protocol = h2c_channel_protocol

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        if protocol is not None:
            protocol.requestFactory = _RawBodyRequest
        return protocol

    def log(self, request):
        """Write no Twisted access log: Daphne's action_logger is off too,
        and formatting the line would cost time on every request."""


class _Lifecycle:
    """Start-up and graceful stop of one ``run()``; keeps the first error."""

    def __init__(self, loop, on_ready, on_stop):
        self._loop = loop
        self._on_ready = on_ready
        self._on_stop = on_stop
        self._ready_task = None
        self._stop_task = None
        self._stop_early = False  # a signal came before the reactor ran
        self._previous = {}  # signal -> handler before run()
        self.ports = []
        self.error = None

    def catch_early_signals(self) -> None:
        """Until the loop runs, a stop signal is only noted.

        The loop's own handlers see nothing before it runs: uvloop records
        a signal in its handler but wakes up for it through the wakeup fd,
        which it sets from ``run_forever`` on, so a signal between
        ``add_signal_handler`` and ``run_forever`` would be kept and never
        acted on. Plain handlers note signals until then, and ``start``,
        which swaps in the loop's handlers, runs in the loop's first turn
        and acts on what was noted.
        """

        def note(signum, frame):
            self._stop_early = True

        for signum in _STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, note)

    def release_signals(self) -> None:
        for signum, handler in self._previous.items():
            self._loop.remove_signal_handler(signum)
            signal.signal(signum, handler)

    def start(self) -> None:
        for signum in _STOP_SIGNALS:
            self._loop.add_signal_handler(signum, self.stop)
        self._ready_task = self._loop.create_task(self._ready())
        if self._stop_early:
            self.stop()

    def stop(self) -> None:
        if self._stop_task is None:
            self._stop_task = self._loop.create_task(self._stop())
        else:
            self._stop_task.cancel()

    async def _ready(self) -> None:
        try:
            await self._on_ready()
        except Exception as exc:
            self._fail(exc)
            return
        _tune_gc()

    async def _stop(self) -> None:
        try:
            # Stop what has fully started; shielded so that a second signal
            # cancels only the wait.
            await asyncio.shield(self._ready_task)
            await _stop_listening(self.ports).asFuture(self._loop)
            await self._on_stop()
        except Exception as exc:
            self.error = self.error or exc
        finally:
            if reactor.running:
                reactor.stop()

    def _fail(self, exc: Exception) -> None:
        self.error = self.error or exc
        if reactor.running:
            reactor.stop()


def _stop_listening(ports) -> defer.Deferred:
    return defer.gatherResults(
        [defer.maybeDeferred(port.stopListening) for port in ports]
    )


def _tune_gc() -> None:
    # Everything alive after start-up (Django, settings, modules) lives for
    # good: collect once, then freeze it so that full collections stop
    # re-scanning it, and raise the thresholds so that collections run less
    # often. ~+12% requests/s measured (DESIGN.md section 2).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def _cancel_applications(server: Server) -> defer.Deferred:
    """Cancel the application instances still running and wait for them.

    Replaces Daphne's kill_all_applications, which raises KeyError for a
    connection whose application has not started yet (its request body is
    still arriving) or was already reaped.
    """
    instances = [
        details.get("application_instance") for details in server.connections.values()
    ]
    running = []
    for instance in [*instances, *server.shortcut_instances]:
        if instance is not None and not instance.done():
            instance.cancel()
            running.append(instance)
    return defer.Deferred.fromFuture(asyncio.gather(*running, return_exceptions=True))
