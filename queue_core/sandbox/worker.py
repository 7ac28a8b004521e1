"""The jq worker process: compiles and runs programs under its own limits.

Run by ``queue_core.sandbox.pool`` as ``python -I worker.py <limits>``, one
process per pool slot, and fed frames on stdin; each request gets one reply
frame on stdout, in order. A frame is a 4-byte little-endian length and a
MessagePack body. A request starts with its kind:

* ``[MATCH, program text, payloads]`` (each payload JSON text as bytes;
  none at all only compiles), the payload filter's: its reply is
  ``[OK, verdicts]`` (a byte a payload: 1 when the program emits a truthy
  value for it, else 0) or ``[COMPILE_ERROR, libjq's message]``;
* ``[BATCH, checks, chains, max payload bytes]``, a batched enqueue's
  (``batch.py`` says what it computes and replies).

The program is checked as the client wrote it, then run as ``(program) |
select(.) | true``, so libjq hands back nothing but ``true``: converting
what a program emits into Python objects costs time and recurses in C (an
array nested 100,000 deep overflows the stack). Parenthesised, a valid
program means what it meant; one that no longer compiles so (a top-level
``import``, a comment that continues past the end) runs as written.

The process is the bound, so it is built to die rather than recover:

* memory: ``RLIMIT_AS``; libjq calls ``abort()`` when an allocation fails,
  and a Python ``MemoryError`` exits with ``EXIT_MEMORY``;
* time: before compiling and before each payload an ``ITIMER_PROF`` timer
  is armed with the time limit plus the payload's parsing allowance, and
  ``SIGPROF`` keeps its default action, which ends the process: libjq runs
  in C, where no Python handler could interrupt it;
* no environment (``$ENV`` and ``env`` are ``{}``), and a working directory
  that no longer exists, so ``import``/``include`` find no module or data
  file of the server's; ``debug`` and ``stderr`` go to the pool's null
  stderr; no core dumps;
* a lower CPU priority than the server's, so a runaway program slows the
  queue's clients as little as possible;
* EOF on stdin (the server closed the pipe, or died) ends the process.

This file imports nothing of the package: the pool runs it by path, with
``-I``, so a worker loads only the standard library, ``jq``, ``msgpack``
and its sibling ``batch.py`` (the batch requests' half).
Its constants are imported from here by the pool, so they live once.
"""

import os
import resource
import signal
import struct
import sys
import tempfile

OK = 0
COMPILE_ERROR = 1
EXIT_MEMORY = 3
MATCH = 0
BATCH = 1
HEADER = struct.Struct("<I")
# Compiled programs kept for later requests; compiling costs ~2 ms.
PROGRAM_CACHE_SIZE = 32
_TRUTHY = "({}\n) | select(.) | true"


def _confine(memory_limit_bytes: int, niceness: int) -> None:
    os.environ.clear()  # unsetenv each name: libjq reads the C environment
    scratch = tempfile.mkdtemp()
    os.chdir(scratch)
    os.rmdir(scratch)
    os.nice(niceness)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    # Ctrl-C in the server's terminal reaches the whole process group; the
    # server ends its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_exactly(size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(0, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame() -> bytes | None:
    header = _read_exactly(HEADER.size)
    return None if header is None else _read_exactly(HEADER.unpack(header)[0])


def _write_frame(body: bytes) -> None:
    view = memoryview(HEADER.pack(len(body)) + body)
    while view:
        view = view[os.write(1, view) :]


class Worker:
    """The request loop's state: limits and the compiled-program cache."""

    def __init__(self, time_limit_ms: int, parse_allowance_ns: int) -> None:
        self.time_limit_s = time_limit_ms / 1000
        self.parse_allowance_s = parse_allowance_ns / 1e9
        self.programs = {}

    def program(self, text: str, compile=None):
        """The compiled program; raises ValueError with libjq's message.

        ``compile`` (default ``_compile``, the filter's) makes it from
        ``text``; the cache knows each program by both.
        """
        compile = compile or _compile
        key = (compile, text)
        program = self.programs.pop(key, None)
        if program is None:
            signal.setitimer(signal.ITIMER_PROF, self.time_limit_s)
            program = compile(text)
            if len(self.programs) >= PROGRAM_CACHE_SIZE:
                del self.programs[next(iter(self.programs))]
        self.programs[key] = program  # most recently used last
        return program

    def arm(self, input_size: int) -> None:
        """Start one run's time bound: the limit plus the input's allowance."""
        budget = self.time_limit_s + input_size * self.parse_allowance_s
        signal.setitimer(signal.ITIMER_PROF, budget)

    def match(self, program, payloads: list) -> bytes:
        verdicts = bytearray(len(payloads))
        for index, payload in enumerate(payloads):
            self.arm(len(payload))
            verdicts[index] = _truthy(program, payload)
        return bytes(verdicts)

    def handle(self, kind: int, *request) -> list:
        try:
            if kind == BATCH:
                return batch.handle(self, *request)
            return self.match_request(*request)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)

    def match_request(self, text: str, payloads: list) -> list:
        try:
            program = self.program(text)
        except ValueError as exc:
            return [COMPILE_ERROR, str(exc)]
        return [OK, self.match(program, payloads)]


def _compile(text: str):
    checked = jq.compile(text)
    try:
        return jq.compile(_TRUTHY.format(text))
    except ValueError:
        return checked


def _truthy(program, payload: bytes) -> int:
    """1 when the program emits anything but ``false``/``null`` for it.

    libjq cannot resume after a runtime error (asking its iterator for more
    aborts the process), so the first error ends the run: values emitted
    before it still count. Runtime errors and unparsable payloads are
    non-matches.
    """
    try:
        for value in program.input_text(payload.decode()):
            # Identity tests, not truthiness: jq's 0, "" and [] are true.
            if value is not None and value is not False:
                return 1
    except ValueError:
        pass
    return 0


def serve(worker: Worker) -> None:
    while (frame := _read_frame()) is not None:
        _write_frame(msgpack.packb(worker.handle(*msgpack.unpackb(frame))))


def main(argv: list) -> None:
    memory_limit_bytes, time_limit_ms, parse_allowance_ns, niceness = map(int, argv)
    _confine(memory_limit_bytes, niceness)
    try:
        serve(Worker(time_limit_ms, parse_allowance_ns))
    except MemoryError:
        os._exit(EXIT_MEMORY)
    except BrokenPipeError:
        pass  # the server is gone


if __name__ == "__main__":
    import jq
    import msgpack

    # -I leaves the script's directory off the path; the sibling is wanted.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import batch

    main(sys.argv[1:])
