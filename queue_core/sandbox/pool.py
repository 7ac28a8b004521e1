"""Running jq programs where they can neither stall nor crash the server.

libjq runs in C without yielding: on the event loop a program such as
``def f: f; f`` stalls every client for as long as it runs, and one that
allocates too much (``null | .[536870000] = 1``, or even compiling
``"a" * 1000000000``, which libjq folds at compile time) makes libjq call
``abort()``, which takes the process down. Threads would not help: the
bindings hold the GIL, and an abort ends every thread. So every compile
and every run happens in a small pool of long-lived worker processes
(``worker.py``), each with its own limits, driven from the loop through
non-blocking pipes (``process.py``). A worker that overruns dies, its
caller gets ``JqLimitExceeded`` naming the limit, and the slot is refilled
by a fresh process on the next call; meanwhile the loop keeps serving.

The bounds (constructor arguments; defaults in ``queue_core.defaults``):

* ``workers`` (``DEFAULT_JQ_WORKERS``, 2): processes at most, spawned on
  first use. Calls beyond that wait, in order, for a free one.
* ``time_limit_ms`` (``DEFAULT_JQ_TIME_LIMIT_MS``, 1000): CPU time for one
  compile, and for one payload's run, plus
  ``parse_allowance_ns_per_byte`` (``DEFAULT_JQ_PARSE_ALLOWANCE_NS_PER_BYTE``,
  250, i.e. 1 ms per 4 KB) for each byte of that payload, since libjq
  parses the payload inside the run: a 16 MiB payload took 2.1 s to parse
  on the dev VM. CPU time rather than wall time, so a busy machine does not
  fail programs that would pass on a quiet one. The limit is per payload,
  not per call: a count over 100,000 jobs is fine, and no job's payload can
  hold a worker longer than its bound.
* ``memory_limit_bytes`` (``DEFAULT_JQ_MEMORY_LIMIT_BYTES``, 512 MiB): the
  worker's address space (``RLIMIT_AS``); an idle worker uses ~16 MiB of
  it, and parsing a 16 MiB payload of small objects peaks at ~360 MiB.
* ``niceness`` (``DEFAULT_JQ_NICENESS``, 5): added to the server's nice
  value, as for compactions (``store/cpu_priority.py``), so the loop wins
  the CPU from a runaway program. At 10 a filtered count over 100,000 jobs
  took 4x its CPU time in wall time on the shared VM, starved by
  neighbours.

A worker killed by ``SIGPROF`` overran its time; any other death is counted
as memory (libjq aborts on a failed allocation; a C stack overflow is a
segfault), and one that is neither of those is also logged.

A call whose caller is cancelled (the client went away) keeps its worker
until the reply arrives, so a worker is never handed a second request
while it still owes the first one's reply. ``close()`` closes every pipe,
which ends the workers, and reaps them; after a ``kill -9`` of the server
the workers see EOF on stdin and exit by themselves.
"""

import asyncio
import logging
import signal
from collections import deque

import msgpack

from ..defaults import (
    DEFAULT_JQ_MEMORY_LIMIT_BYTES,
    DEFAULT_JQ_NICENESS,
    DEFAULT_JQ_PARSE_ALLOWANCE_NS_PER_BYTE,
    DEFAULT_JQ_TIME_LIMIT_MS,
    DEFAULT_JQ_WORKERS,
)
from . import batch
from .process import WorkerDied, WorkerProcess
from .worker import BATCH, COMPILE_ERROR, EXIT_MEMORY, MATCH

logger = logging.getLogger("zizq.jq")

_ERROR_PREFIX = "jq: error: "
_EXPECTED_DEATHS = (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGKILL, EXIT_MEMORY)
_CLOSE_WAIT_S = 0.5


class JqCompileError(Exception):
    """The program does not compile; ``detail`` is libjq's report, one line."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BatchRefused(Exception):
    """A batched enqueue's request ``index`` fails its dry-run or its fold;
    ``message`` is the 422's text (API.md 7.2.5)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


class JqLimitExceeded(Exception):
    """The program overran a bound; ``limit`` names it, with its value."""

    def __init__(self, limit: str) -> None:
        super().__init__(limit)
        self.limit = limit  # e.g. "the time limit of 1000 ms"


class JqPool:
    """Worker processes that compile jq programs and test payloads with them."""

    def __init__(
        self,
        workers: int = DEFAULT_JQ_WORKERS,
        time_limit_ms: int = DEFAULT_JQ_TIME_LIMIT_MS,
        memory_limit_bytes: int = DEFAULT_JQ_MEMORY_LIMIT_BYTES,
        parse_allowance_ns_per_byte: int = DEFAULT_JQ_PARSE_ALLOWANCE_NS_PER_BYTE,
        niceness: int = DEFAULT_JQ_NICENESS,
    ) -> None:
        self.workers = workers
        self.time_limit_ms = time_limit_ms
        self.memory_limit_bytes = memory_limit_bytes
        self._limits = (
            memory_limit_bytes,
            time_limit_ms,
            parse_allowance_ns_per_byte,
            niceness,
        )
        self._all = set()  # every live WorkerProcess
        self._idle = []
        self._waiters = deque()  # futures of callers waiting for a worker
        self.closed = False

    @property
    def pids(self) -> list:
        """Process ids of the workers running now."""
        return [worker.pid for worker in self._all]

    async def matches(self, text: str, payloads: list) -> bytes:
        """A byte per payload (JSON text): 1 when the program emits a truthy value.

        Runtime errors and unparsable payloads give 0; with no payloads the
        program is only compiled. Raises ``JqCompileError`` or
        ``JqLimitExceeded``.
        """
        status, value = msgpack.unpackb(
            await self._call(msgpack.packb([MATCH, text, payloads]))
        )
        if status == COMPILE_ERROR:
            raise JqCompileError(compile_detail(value))
        return value

    async def batch(self, checks: list, chains: list, max_bytes: int) -> list:
        """A batched enqueue's dry-runs and folds, in one call (``batch.py``
        says what goes in and comes out).

        Raises ``BatchRefused`` or ``JqLimitExceeded``.
        """
        reply = msgpack.unpackb(
            await self._call(msgpack.packb([BATCH, checks, chains, max_bytes]))
        )
        if reply[0] == batch.REFUSED:
            raise BatchRefused(reply[1], _refusal(*reply[2:]))
        return reply[1]

    async def _call(self, body: bytes) -> bytes:
        worker = await self._acquire()
        reply = worker.call(body)
        try:
            body = await asyncio.shield(reply)
        except WorkerDied:
            status = await worker.exit_status()
            self._release(worker)
            if self.closed:
                raise RuntimeError("the jq pool is closed") from None
            raise self._overrun(status) from None
        except asyncio.CancelledError:
            # The reply is still owed: the worker is free once it arrives.
            reply.add_done_callback(lambda _: self._release(worker))
            raise
        self._release(worker)
        return body

    async def _acquire(self) -> WorkerProcess:
        if self._idle:
            return self._idle.pop()
        if len(self._all) < self.workers:
            return self._spawn()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            worker = await waiter
        except asyncio.CancelledError:
            if waiter.cancelled():
                self._waiters.remove(waiter)
            else:  # handed over just as the caller was cancelled
                self._hand_over(waiter.result())
            raise
        return worker if worker is not None else self._spawn()

    def _spawn(self) -> WorkerProcess:
        if self.closed:
            raise RuntimeError("the jq pool is closed")
        worker = WorkerProcess(self._limits)
        self._all.add(worker)
        return worker

    def _release(self, worker: WorkerProcess) -> None:
        """Give the worker back; a dead one leaves a free slot instead."""
        if worker.dead:
            self._all.discard(worker)
            worker.close_pipes()
            worker.reap(0)
            worker = None
        self._hand_over(worker)

    def _hand_over(self, worker: WorkerProcess | None) -> None:
        """To the first waiter (None: a slot to spawn into), or to the idle."""
        if self._waiters:
            self._waiters.popleft().set_result(worker)
        elif worker is not None:
            self._idle.append(worker)

    def _overrun(self, status: int) -> JqLimitExceeded:
        if status == -signal.SIGPROF:
            return JqLimitExceeded(f"the time limit of {self.time_limit_ms} ms")
        if status not in _EXPECTED_DEATHS:
            logger.warning(
                "jq worker exited unexpectedly", extra={"fields": {"status": status}}
            )
        return JqLimitExceeded(f"the memory limit of {_size(self.memory_limit_bytes)}")

    def close(self) -> None:
        """End every worker: close the pipes, reap, kill what lingers."""
        self.closed = True
        workers, self._all, self._idle = list(self._all), set(), []
        for worker in workers:
            worker.close_pipes()
        for worker in workers:
            worker.reap(_CLOSE_WAIT_S)


def compile_detail(message: str) -> str:
    """libjq's report reduced to one line per error.

    libjq prints each error as ``jq: error: <what> at <where>:`` followed by
    the source line and a caret, then a ``jq: N compile errors`` summary;
    the caret art means nothing inside a JSON error message.
    """
    errors = [
        line[len(_ERROR_PREFIX) :].rstrip(":")
        for line in message.splitlines()
        if line.startswith(_ERROR_PREFIX)
    ]
    return "; ".join(errors) or message.strip()


def _refusal(stage: int, which: str, detail: str) -> str:
    if stage == batch.EXPRESSION:
        return f"batch expression: {which}: {compile_detail(detail)}"
    if stage == batch.DRY_RUN:
        return f"batch dry-run: {which}: {detail}"
    return f"batch fold failed: {detail}"


def _size(size_bytes: int) -> str:
    mib, rest = divmod(size_bytes, 1024 * 1024)
    return f"{mib} MiB" if mib and not rest else f"{size_bytes} bytes"
