"""One jq worker process as the event loop sees it: pipes, one call at a time.

The worker (``worker.py``) is spawned with two pipes, its stdin and stdout,
whose server ends are non-blocking and watched by the loop
(``add_reader``/``add_writer``), so a request is written and its reply read
without ever blocking the loop, whatever the worker does meanwhile. No
other descendant holds those ends (pipes are close-on-exec and ``Popen``
closes every other descriptor), so the worker sees EOF on stdin as soon as
the server closes its end or dies, and the server sees EOF on stdout as
soon as the worker dies: that EOF is how a worker that overran a limit is
noticed; its exit status, read afterwards, says which limit.

The environment is empty from the start (``env={}``); ``stderr`` is
``/dev/null``, where libjq's own messages (``debug``, ``stderr``, "cannot
allocate memory") would otherwise reach the server's log.
"""

import asyncio
import os
import subprocess
import sys

from .worker import HEADER

_WORKER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
_READ_SIZE = 1 << 16
# A worker that closed stdout is exiting; this long is allowed for it.
_EXIT_WAIT_S = 2.0


class WorkerDied(Exception):
    """The worker's stdout reached EOF before a whole reply arrived."""


class WorkerProcess:
    """A spawned worker; ``call`` sends one request and awaits its reply."""

    def __init__(self, limits: tuple) -> None:
        self._loop = asyncio.get_running_loop()
        child_in, self._to_child = os.pipe()
        self._from_child, child_out = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", _WORKER_PATH, *map(str, limits)],
                stdin=child_in,
                stdout=child_out,
                stderr=subprocess.DEVNULL,
                env={},
            )
        except BaseException:
            os.close(self._to_child)
            os.close(self._from_child)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        os.set_blocking(self._to_child, False)
        os.set_blocking(self._from_child, False)
        self.dead = False
        self._outbox = memoryview(b"")
        self._inbox = bytearray()
        self._reply = None
        self._loop.add_reader(self._from_child, self._on_readable)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, body: bytes) -> asyncio.Future:
        """The future reply body; raises ``WorkerDied`` through it."""
        self._reply = reply = self._loop.create_future()
        if self.dead:
            reply.set_exception(WorkerDied())
            return reply
        self._outbox = memoryview(HEADER.pack(len(body)) + body)
        self._write()
        return reply

    def _write(self) -> None:
        try:
            sent = os.write(self._to_child, self._outbox)
        except BlockingIOError:
            sent = 0
        except OSError:  # EPIPE: the worker is gone; EOF on stdout follows
            self._loop.remove_writer(self._to_child)
            return
        self._outbox = self._outbox[sent:]
        if self._outbox:
            self._loop.add_writer(self._to_child, self._write)
        else:
            self._loop.remove_writer(self._to_child)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._from_child, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._on_eof()
            return
        self._inbox += data
        size = HEADER.size
        if len(self._inbox) < size:
            return
        end = size + HEADER.unpack_from(self._inbox)[0]
        if len(self._inbox) >= end:
            body = bytes(self._inbox[size:end])
            del self._inbox[:end]
            self._resolve(lambda reply: reply.set_result(body))

    def _on_eof(self) -> None:
        self.dead = True
        self._unwatch()
        self._resolve(lambda reply: reply.set_exception(WorkerDied()))

    def _resolve(self, settle) -> None:
        reply, self._reply = self._reply, None
        if reply is not None and not reply.done():
            settle(reply)

    async def exit_status(self) -> int:
        """The exit status of a dead worker (``-N`` when signal N ended it)."""
        deadline = self._loop.time() + _EXIT_WAIT_S
        while self.proc.poll() is None:
            if self._loop.time() > deadline:
                self.proc.kill()
            await asyncio.sleep(0.001)
        return self.proc.returncode

    def _unwatch(self) -> None:
        if not self._loop.is_closed():
            self._loop.remove_reader(self._from_child)
            self._loop.remove_writer(self._to_child)

    def close_pipes(self) -> None:
        """Stop watching and close both pipes: the worker sees EOF and exits."""
        if self._to_child < 0:
            return
        self._unwatch()
        os.close(self._to_child)
        os.close(self._from_child)
        self._to_child = self._from_child = -1
        self.dead = True
        if not self._loop.is_closed():
            self._resolve(lambda reply: reply.set_exception(WorkerDied()))

    def reap(self, timeout_s: float) -> None:
        """Wait for the worker to exit, killing it after ``timeout_s``."""
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
