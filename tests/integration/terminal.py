"""``zizq top`` in a real pseudo-terminal, read back through a terminal emulator.

``Terminal`` spawns the command under ``pexpect`` at a given size and
feeds everything it writes, from a reader thread, to a ``pyte`` screen,
so a test reads what a user would see (``text``, ``wait_for``). The raw
bytes are kept too (``output``), for what a screen does not show: the
alternate screen and cursor modes a clean exit must restore.
"""

import os
import threading
import time

import pexpect
import pyte

from .server import ROOT, zizq_command


def top(url: str, *options) -> list:
    """The argv of ``zizq top`` against ``url``."""
    return zizq_command("top", "--url", url, *options)


class Terminal:
    def __init__(self, argv, columns: int = 80, rows: int = 24, env=None) -> None:
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self.output = bytearray()
        environment = dict(
            os.environ, PYTHONPATH=ROOT, TERM="xterm-256color", **(env or {})
        )
        self.child = pexpect.spawn(
            argv[0], argv[1:], dimensions=(rows, columns), env=environment, cwd=ROOT
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError):
                return
            with self._lock:
                self.output += data
                self._stream.feed(data)

    def reset(self) -> None:
        """Forget what the screen shows (to see it drawn again)."""
        with self._lock:
            self.screen.reset()

    def highlighted(self, needle: str) -> bool:
        """Whether the line showing ``needle`` is drawn in reverse video."""
        with self._lock:
            for y, line in enumerate(self.screen.display):
                if needle in line:
                    return self.screen.buffer[y][line.index(needle)].reverse
        return False

    def text(self) -> str:
        with self._lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, *needles: str, timeout: float = 10.0) -> str:
        """The screen once it shows every needle (AssertionError if it never does)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if all(needle in text for needle in needles):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{needles!r} never shown; the screen:\n{text}")
            time.sleep(0.05)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def wait_exit(self, timeout: float = 10.0) -> int:
        """The exit status, once the reader has seen the end of the output
        (only the reader reads: a second reader would take bytes from it)."""
        self._reader.join(timeout)
        assert not self._reader.is_alive(), f"still running; the screen:\n{self.text()}"
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
