"""``zizq top``: what the dashboard costs, and whether it keeps up.

    .venv/bin/python bench/top.py [idle] [bulk] [--seconds N] [--rounds N]

``idle``: a licensed server holding 100,000 ready jobs, one ``zizq top``
on it in a real pseudo-terminal (80x24, the default 500 ms refresh),
drawn by ``pyte`` in this process (idle, that costs little); reported: top's CPU over ``--seconds``
as a percentage of one core (its own process, from /proc), on the In-Flight
tab it starts on and on the Ready tab with the 100,000 jobs.

``bulk``: bulk enqueues (100 jobs a request, 16 h2load connections on core
1) in alternating rounds without a dashboard, with one ``zizq top``
connected (Ready tab), and with one bare ``/events`` client on the same
200-job head windows (bench/events.py's ``Watcher``: what the server's
feed costs, whoever reads it). Reported: the median jobs/s of each and the
ratios to none, top's
CPU while it watched, and the totals lag: once the producers stop, how
long until top writes the server's final count in its totals line (its
output is scanned, not emulated: an emulator here would take CPU from the
server; the count is the server's own ``/jobs/count``).
"""

import argparse
import json
import os
import re
import statistics
import sys
import threading
import time

import pexpect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import enqueue
from common import CLK_TCK, job
from events import AdminBenchServer, Watcher, _reset

from tests.integration.terminal import Terminal, top

READY = 100_000
TOTALS = re.compile(rb"Queue: (\d+) in-flight, (\d+) ready, (\d+) scheduled")


class RawTerminal:
    """``zizq top`` in a pty whose output is only scanned for the totals
    line, not emulated: a terminal emulator in this process would compete
    with the server for the two cores and be counted against top."""

    def __init__(self, argv) -> None:
        self.child = pexpect.spawn(
            argv[0], argv[1:], dimensions=(24, 80), env=dict(os.environ, TERM="xterm")
        )
        self.ready = None
        self.shown_at = {}  # ready count -> when top first wrote it
        self._tail = b""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self._tail + self.child.read_nonblocking(65536, timeout=1)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError):
                return
            found = list(TOTALS.finditer(data))
            if found:
                self.ready = int(found[-1].group(2))
                self.shown_at.setdefault(self.ready, time.monotonic())
            self._tail = data[-200:]

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.ready is None:
            if time.monotonic() > deadline:
                raise RuntimeError("zizq top never showed its totals")
            time.sleep(0.05)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def close(self) -> None:
        self.child.terminate(force=True)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def fill(server, count: int) -> None:
    for _ in range(count // 1_000):
        server.post("/jobs/bulk", {"jobs": [job() for _ in range(1_000)]})


def start_top(server) -> RawTerminal:
    terminal = RawTerminal(top(f"http://127.0.0.1:{server.admin_port}"))
    terminal.wait_ready()
    return terminal


def idle(seconds: int) -> dict:
    server = AdminBenchServer(quiet=True)
    server.start()
    try:
        fill(server, READY)
        terminal = Terminal(top(f"http://127.0.0.1:{server.admin_port}"), 80, 24)
        try:
            terminal.wait_for(f"{READY} ready", timeout=60)
            time.sleep(2)  # past start-up
            out = {}
            for tab in ("in_flight", "ready"):
                before = cpu_seconds(terminal.child.pid)
                time.sleep(seconds)
                used = cpu_seconds(terminal.child.pid) - before
                out[f"{tab}_cpu_pct_of_a_core"] = round(100 * used / seconds, 2)
                terminal.send("\t")
                time.sleep(1)
            return out
        finally:
            terminal.close()
    finally:
        server.close()


def _lag(server, terminal: RawTerminal) -> float:
    """Seconds from the producers' end until top shows the final count."""
    ended = time.monotonic()
    final = server.get("/jobs/count?status=ready")["count"]
    while final not in terminal.shown_at:
        if time.monotonic() > ended + 30:
            return float("inf")
        time.sleep(0.02)
    return terminal.shown_at[final] - ended


def bulk(seconds: int, rounds: int) -> dict:
    server = AdminBenchServer(quiet=True)
    server.start()
    try:
        rates = {"none": [], "top": [], "watcher": []}
        lags, top_cpu = [], []
        for _ in range(rounds):
            for case in ("none", "top", "watcher"):
                terminal = start_top(server) if case == "top" else None
                watcher = (
                    Watcher(server.admin_port, "head") if case == "watcher" else None
                )
                if terminal is not None:
                    terminal.send("\t")
                    before = cpu_seconds(terminal.child.pid)
                result = enqueue.run(
                    server, bulk=100, clients=16, seconds=seconds, h1=True
                )
                rates[case].append(result["jobs_per_s"])
                if terminal is not None:
                    top_cpu.append(
                        100 * (cpu_seconds(terminal.child.pid) - before) / seconds
                    )
                    lags.append(_lag(server, terminal))
                    terminal.close()
                if watcher is not None:
                    watcher.close()
                _reset(server)
        none, with_top, watched = (statistics.median(rates[case]) for case in rates)
        return {
            "none_jobs_per_s": round(none),
            "top_jobs_per_s": round(with_top),
            "top_ratio": round(with_top / none, 3),
            "watcher_jobs_per_s": round(watched),
            "watcher_ratio": round(watched / none, 3),
            "top_cpu_pct_of_a_core": round(statistics.median(top_cpu), 1),
            "totals_lag_s": [round(lag, 2) for lag in lags],
            "runs": rates,
        }
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", default=["idle", "bulk"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    out = {}
    if "idle" in args.cases:
        out["idle"] = idle(args.seconds)
    if "bulk" in args.cases:
        out["bulk"] = bulk(args.seconds, args.rounds)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
