"""A tiny server for test_daphne_h2c.py and test_http1.py: serve.daphne.run()
around a raw ASGI app, driven as a subprocess.

    python -m tests.zizq_server._daphne_app MARKER_DIR NAME=HOST:PORT ...

stdout gets one JSON line per event (listening, ready, stopping), then
"Server stopped."; a BindError prints "Error: <msg>" to stderr and exits 1.
Streams write MARKER_DIR/disconnect-<id> when told the client went away.
With SIGTERM_AFTER_START=1 in the environment the server signals itself
right after its stop handlers go in.
"""

import asyncio
import gc
import json
import os
import signal
import socket
import sys
from pathlib import Path

from tests.zizq_server._bodies import pattern
from zizq_server.serve import daphne
from zizq_server.serve.daphne import BindError, ListenerSpec, run

STREAM_INTERVAL_S = 0.05
ticks = 0


def emit(**event) -> None:
    print(json.dumps(event), flush=True)


async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await websocket_hello(scope, receive, send)
    elif scope["path"] == "/hello":
        await hello(scope, receive, send)
    elif scope["path"] == "/empty":
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif scope["path"] == "/stream":
        await stream(scope, receive, send)
    elif scope["path"] == "/big":
        await big(scope, receive, send)
    elif scope["path"] == "/echo":
        await echo(scope, receive, send)
    elif scope["path"] == "/h2-tables":
        await h2_tables(scope, receive, send)
    elif scope["path"] == "/raise":
        await receive()
        raise RuntimeError("raised by /raise")
    elif scope["path"] == "/raise-midway":
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        body = {"type": "http.response.body", "body": b"part", "more_body": True}
        await send(body)
        raise RuntimeError("raised by /raise-midway")


async def hello(scope, receive, send):
    await receive()
    body = {
        "listener": scope["listener"],
        "http_version": scope["http_version"],
        "loop": type(asyncio.get_running_loop()).__module__,
        "ticks": ticks,
        "gc_frozen": gc.get_freeze_count(),
        "gc_threshold": gc.get_threshold(),
        "server": scope["server"],
    }
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def h2_tables(scope, receive, send):
    """The per-stream tables of every live HTTP/2 connection: how many
    entries each holds (the priority tree's root included; the libnghttp2
    connection has only its streams and those it drops DATA for)."""
    from zizq_server.serve.h2 import H2Channel
    from zizq_server.serve.h2_native import NativeH2Channel

    await receive()
    gc.collect()
    tables = [
        {
            "streams": len(channel.streams),
            "cleanup": len(channel._streamCleanupCallbacks),
            "queues": len(channel._outboundStreamQueues),
            "priority": len(channel.priority._streams),
        }
        if isinstance(channel, H2Channel)
        else {"streams": len(channel.streams), "dropping": len(channel._dropping)}
        for channel in gc.get_objects()
        if isinstance(channel, (H2Channel, NativeH2Channel))
    ]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(tables).encode()})


async def big(scope, receive, send):
    """``/big?N``: N bytes of ``pattern(N)`` in one body message."""
    await receive()
    size = int(scope["query_string"])
    headers = [(b"content-length", str(size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": pattern(size)})


async def echo(scope, receive, send):
    """The request as the application saw it: its scope and whole body."""
    messages = [await receive()]
    while messages[-1].get("more_body"):
        messages.append(await receive())
    shown = {
        key: value.decode("latin-1") if isinstance(value, bytes) else value
        for key, value in scope.items()
        if key not in ("headers", "asgi", "state", "extensions")
    }
    shown["headers"] = [[n.decode(), v.decode("latin-1")] for n, v in scope["headers"]]
    shown["body"] = b"".join(m["body"] for m in messages).decode("latin-1")
    body = json.dumps(shown).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def stream(scope, receive, send):
    """Send a line every STREAM_INTERVAL_S until the client disconnects."""
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    pump = asyncio.create_task(send_forever(send))
    while (await receive())["type"] != "http.disconnect":
        pass
    pump.cancel()
    stream_id = scope["query_string"].decode()
    (Path(sys.argv[1]) / f"disconnect-{stream_id}").touch()


async def send_forever(send):
    n = 0
    while True:
        n += 1
        body = f"chunk {n}\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await asyncio.sleep(STREAM_INTERVAL_S)


async def websocket_hello(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": scope["listener"]})
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def on_ready():
    asyncio.get_running_loop().create_task(tick())
    emit(event="ready")


async def tick():
    global ticks
    while True:
        ticks += 1
        await asyncio.sleep(0.01)


def make_on_stop(ports):
    async def on_stop():
        emit(event="stopping", accepting=any(map(accepts, ports)))
        await asyncio.sleep(0.05)

    return on_stop


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def parse_listener(arg: str) -> ListenerSpec:
    name, address = arg.split("=", 1)
    host, port = address.rsplit(":", 1)
    return ListenerSpec(name=name, host=host, port=int(port))


def signal_right_after_start() -> None:
    """Send SIGTERM the moment the loop's stop handlers are installed."""
    start = daphne._Lifecycle.start

    def start_then_signal(self):
        start(self)
        os.kill(os.getpid(), signal.SIGTERM)

    daphne._Lifecycle.start = start_then_signal


def main() -> int:
    if os.environ.get("SIGTERM_AFTER_START"):
        signal_right_after_start()
    ports = []

    def on_listening(name, host, port):
        ports.append(port)
        emit(event="listening", name=name, host=host, port=port)

    listeners = [parse_listener(arg) for arg in sys.argv[2:]]
    try:
        run(
            app,
            listeners,
            on_listening=on_listening,
            on_ready=on_ready,
            on_stop=make_on_stop(ports),
        )
    except BindError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print("Server stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
