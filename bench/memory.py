"""Peak server memory under hostile clients: big bodies and clients that stop reading.

    .venv/bin/python bench/memory.py [--only idle,bodies,...] [--clients 16]

Each scenario starts a fresh server (core 0, temporary root directory) so
that its peak resident set (``VmHWM`` in /proc/<pid>/status) belongs to that
scenario alone, and reports the peak and the resident set afterwards, in
MiB, beside the idle figure of the same server:

- ``idle``: a server that has answered one request.
- ``bodies``: ``--clients`` connections each enqueue one job whose request
  body is ``--body-bytes`` long (default: the largest body the server
  accepts, 16 MiB), all at once.
- ``huge_string``: the same number of bulk PATCHes whose body is one JSON
  string of 8 MiB (a 400: the error message used to quote it whole).
- ``h1_unread``: ``--jobs`` jobs of ``--payload-bytes`` are stored; each
  client pipelines 5 ``GET /jobs?limit=2000`` over HTTP/1.1 and never reads.
- ``h2_window0``: each client opens an h2c connection with an initial
  stream window of 0, asks for 20 such pages and reads (and drops) what the
  connection sends, so only flow control holds the responses back.
- ``h2_unread``: the same 20 pages per h2c connection, never reading the
  socket.

While the unread clients hold on, another client asks for ``GET /health``;
``health_s`` is how long it waited (a server that stalls its other clients
shows it there). The memory figures are what matter; the machine is shared,
so timings are only a sanity check.

Measured (peak MiB, defaults: 16 clients, 2,000 jobs of 4 KiB, pages of
~9 MiB), before the body limit and back-pressure -> after: idle 82 -> 82;
bodies 1,481 -> 1,288 (after 1,033 -> 948: the engine keeps 256 MiB of
payloads in its memtables); huge_string 284 -> 213; h1_unread 757 -> 238;
h2_window0 2,706 -> 241; h2_unread 2,795 -> 241. /health answered in
3-44 ms throughout.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.request

import h2.config
import h2.connection
import h2.settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BenchServer  # noqa: E402

MIB = 1024 * 1024
PAGE = "/jobs?limit=2000"


def status_mib(pid: int) -> dict:
    """``VmHWM`` (peak) and ``VmRSS`` of a process, in MiB."""
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0]) / 1024
    return found


def settle(pid: int, quiet_s: float = 2.0, limit_s: float = 60.0) -> None:
    """Wait until the resident set has stopped growing for ``quiet_s``."""
    deadline = time.monotonic() + limit_s
    last, since = status_mib(pid)["VmRSS"], time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = status_mib(pid)["VmRSS"]
        if now > last + 1:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


def read_response(sock: socket.socket) -> bytes:
    """One whole Content-Length response from ``sock`` (head and body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    chunks = [body]
    got = len(body)
    while got < length:
        chunk = sock.recv(min(length - got, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return head + b"\r\n\r\n" + b"".join(chunks)


def request(method: str, path: str, body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def send_all_at_once(port: int, data: bytes, clients: int) -> list:
    """``clients`` connections send ``data`` together; their status lines."""
    statuses = [None] * clients
    barrier = threading.Barrier(clients)

    def one(i: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            barrier.wait()
            try:
                sock.sendall(data)
                statuses[i] = read_response(sock).split(b"\r\n", 1)[0].decode()
            except OSError as exc:
                statuses[i] = f"error: {exc}"

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def seed(server: BenchServer, jobs: int, payload_bytes: int) -> None:
    payload = {"data": "x" * payload_bytes}
    for start in range(0, jobs, 100):
        batch = [
            {"queue": "mem", "type": "t", "payload": payload}
            for _ in range(min(100, jobs - start))
        ]
        server.post("/jobs/bulk", {"jobs": batch})


def health_seconds(server: BenchServer) -> float | None:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(server.url + "/health", timeout=30) as r:
            r.read()
    except OSError:
        return None
    return time.monotonic() - started


def unread_h1(port: int, clients: int) -> list:
    socks = []
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(request("GET", PAGE) * 5)
        socks.append(sock)
    return socks


def unread_h2(port: int, clients: int, window0: bool) -> list:
    socks = []
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", port))
        if not window0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        if window0:
            conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
        for _ in range(20):
            stream_id = conn.get_next_available_stream_id()
            headers = [
                (":method", "GET"), (":path", PAGE), (":scheme", "http"),
                (":authority", "bench"),
            ]
            conn.send_headers(stream_id, headers, end_stream=True)
        sock.sendall(conn.data_to_send())
        if window0:
            threading.Thread(target=_drop_all, args=(sock,), daemon=True).start()
        socks.append(sock)
    return socks


def _drop_all(sock: socket.socket) -> None:
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


def scenario(name: str, args) -> dict:
    server = BenchServer(quiet=True)
    try:
        server.start()
        pid = server.proc.pid
        if name in ("h1_unread", "h2_window0", "h2_unread"):
            seed(server, args.jobs, args.payload_bytes)
        idle = status_mib(pid)
        result = {"idle_mib": idle["VmRSS"]}
        if name == "bodies":
            filler = args.body_bytes - len(b'{"queue":"mem","type":"t","payload":""}')
            body = b'{"queue":"mem","type":"t","payload":"' + b"x" * filler + b'"}'
            statuses = send_all_at_once(server.port, request("POST", "/jobs", body), args.clients)
            result["answers"] = sorted(set(statuses))
        elif name == "huge_string":
            body = b'"' + b"x" * (8 * MIB) + b'"'
            statuses = send_all_at_once(server.port, request("PATCH", "/jobs", body), args.clients)
            result["answers"] = sorted(set(statuses))
        elif name != "idle":
            if name == "h1_unread":
                socks = unread_h1(server.port, args.clients)
            else:
                socks = unread_h2(server.port, args.clients, name == "h2_window0")
            settle(pid)
            result["health_s"] = health_seconds(server)
            result["held_mib"] = status_mib(pid)["VmRSS"]
            for sock in socks:
                sock.close()
        time.sleep(0.5)
        after = status_mib(pid)
        result["peak_mib"] = after["VmHWM"]
        result["after_mib"] = after["VmRSS"]
        return result
    finally:
        server.close()


SCENARIOS = ("idle", "bodies", "huge_string", "h1_unread", "h2_window0", "h2_unread")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma list of scenarios")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--body-bytes", type=int, default=16 * MIB)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--payload-bytes", type=int, default=4096)
    args = parser.parse_args()
    only = [s for s in args.only.split(",") if s] or SCENARIOS
    results = {}
    for name in only:
        results[name] = scenario(name, args)
        print(f"{name:12s} {json.dumps(results[name])}", flush=True)


if __name__ == "__main__":
    main()
