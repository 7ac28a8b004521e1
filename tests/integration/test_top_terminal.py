"""``zizq top`` in a real pseudo-terminal, read through ``pyte`` (spec 7.2).

What a user at an 80x24 and a 200x60 terminal sees: connecting, the
totals moving as jobs are enqueued and taken, the tabs, horizontal
scrolling, a search and a delete, the free-tier cap, the server going away
and coming back, Ctrl-Z and resuming, and ``q`` leaving the terminal as it
was (its modes, compared with ``stty -g`` before and after, and the
alternate screen and cursor put back).
"""

import os
import re
import signal
import socket
import time

from .streams import TakeStream
from .terminal import Terminal, top

STTY = re.compile(rb"^([0-9a-f]+(?::[0-9a-f]+){10,})\r?$", re.MULTILINE)


def _put(server, queue: str, job_type: str, **fields) -> str:
    with server.client() as client:
        r = client.post(
            "/jobs", json={"queue": queue, "type": job_type, "payload": None, **fields}
        )
    assert r.status_code == 201
    return r.json()["id"]


def test_80x24_totals_tabs_find_delete_and_quit(server):
    argv = ["sh", "-c", 'stty -g; "$@"; echo "exit=$?"; stty -g', "sh"]
    terminal = Terminal(argv + top(server.admin_url), 80, 24)
    try:
        terminal.wait_for(
            f"● Connected {server.admin_url}", "Queue: 0 in-flight, 0 ready"
        )
        terminal.wait_for("Display is currently capped at 10 jobs.")
        for job_type in ("send", "send", "needle"):
            _put(server, "mail", job_type)
        terminal.wait_for("Queue: 0 in-flight, 3 ready, 0 scheduled")
        stream = TakeStream(server.port, "prefetch=1")
        taken = stream.read_job()
        terminal.wait_for(
            "Queue: 1 in-flight, 2 ready, 0 scheduled", taken["id"], "DURATION"
        )
        terminal.send("\t")
        text = terminal.wait_for("DELAY")
        assert "TYPE" not in text  # 80 columns of a 120-column table
        terminal.send("\x1b[C" * 8)  # Right
        terminal.wait_for("TYPE", "send")
        terminal.send("/needle\r")
        _wait(lambda: terminal.highlighted("needle"), "the match highlighted")
        terminal.send("D")
        prompt = terminal.wait_for(" Delete job ")
        job_id = re.search(r"Delete job (\w+)\?", prompt).group(1)
        assert f" Delete job {job_id}? y Yes  n No" in prompt
        terminal.send("y")
        terminal.wait_for("Queue: 1 in-flight, 1 ready, 0 scheduled")
        with server.client() as client:
            assert client.get(f"/jobs/{job_id}").status_code == 404
        terminal.send("\t")
        terminal.wait_for("DUE")
        stream.close()
        terminal.send("q")
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()
    output = bytes(terminal.output)
    assert b"exit=0" in output
    before, after = STTY.findall(output)
    assert before == after
    tail = output[output.rindex(b"exit=0") - 200 :]
    assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail  # main screen, cursor


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_200x60_reconnects_shows_details_and_suspends(make_server, tmp_path):
    port = _free_port()
    server = make_server("--admin-port", str(port), root_dir=str(tmp_path / "root"))
    job_id = _put(server, "reports", "build", ready_at=int(time.time() * 1000) + 90_000)
    terminal = Terminal(top(server.admin_url, "-r", "200"), 200, 60)
    try:
        terminal.wait_for("● Connected", "0 ready, 1 scheduled")
        terminal.send("\t\t")
        text = terminal.wait_for(job_id, "DUE", "TYPE", "build")
        assert re.search(rf"{job_id}\s+32768\s+reports\s+1m\d+s\s+0\s+build", text)
        terminal.send("i")
        terminal.wait_for("ATTRIBUTES", "PAYLOAD", "(not loaded)", "Status: scheduled")
        server.kill()
        terminal.wait_for("● Disconnected", timeout=15)
        assert "Server version" not in terminal.text()
        time.sleep(3)  # a retry or two fails in the meantime
        assert terminal.child.isalive()
        server.start()
        terminal.wait_for(
            "● Connected", "0 ready, 1 scheduled", "ATTRIBUTES", timeout=15
        )
        terminal.send("\x1a")  # Ctrl-Z
        _wait_state(terminal.child.pid, "T")
        terminal.reset()
        os.kill(terminal.child.pid, signal.SIGCONT)
        terminal.wait_for("● Connected", job_id)
        terminal.send("\x03")  # Ctrl-C quits too
        assert terminal.wait_exit() == 0
    finally:
        terminal.close()


def _wait(check, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.05)


def _wait_state(pid: int, state: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with open(f"/proc/{pid}/stat") as stat:
            now = stat.read().rsplit(")", 1)[1].split()[0]
        if now == state:
            return
        assert time.monotonic() < deadline, f"process state {now}, not {state}"
        time.sleep(0.05)
