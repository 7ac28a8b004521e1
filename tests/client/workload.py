"""Jobs the worker tests run, importable by worker subprocesses too. Each
appends one line to the file named in its arguments, so a test can count
what ran (single short ``O_APPEND`` writes are never interleaved)."""

import asyncio
import os
import time
from dataclasses import dataclass

import zizq_client as zizq


def note(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


def lines(path: str) -> list:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


class PermanentError(Exception):
    pass


@zizq.job(queue="load")
def record(path: str, n: int) -> None:
    note(path, f"sync {n}")


@zizq.job(queue="load")
async def arecord(path: str, n: int) -> None:
    await asyncio.sleep(0)
    note(path, f"async {n}")


@zizq.job(queue="load", type="SendEmail")
def send_email(path: str, to: str, *, template: str) -> None:
    """Shares its type name with a Ruby job class."""
    note(path, f"email {to} {template} {zizq.current_job().attempts}")


@zizq.job(
    queue="load", retry_limit=3, backoff=zizq.Backoff(base=0, exponent=1, jitter=0)
)
def flaky(path: str, n: int) -> None:
    if zizq.current_job().attempts == 0:
        raise ValueError(f"first run of {n} fails")
    note(path, f"flaky {n}")


@zizq.job(queue="load")
def retry_soon(path: str, n: int) -> None:
    if zizq.current_job().attempts == 0:
        raise zizq.Retry(delay=0)
    note(path, f"retried {n}")


@zizq.job(queue="load")
def kill_me(n: int) -> None:
    raise zizq.Kill(f"bad input {n}")


@zizq.job(queue="load", throws=(PermanentError,))
def permanent(n: int) -> None:
    raise PermanentError(f"never works {n}")


@zizq.job(queue="slow")
def slow(path: str, n: int, seconds: float) -> None:
    note(path, f"start {n}")
    time.sleep(seconds)
    note(path, f"done {n}")


@zizq.job(queue="pids")
def whoami(path: str, n: int) -> None:
    """Notes its process, then holds its worker until a second process has
    noted itself too (or 20 s), so no process can take every job while the
    other is still starting."""
    note(path, f"{n} {os.getpid()}")
    deadline = time.monotonic() + 20
    while len({line.split()[1] for line in lines(path)}) < 2:
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)


@dataclass
class Note:
    path: str
    text: str


@zizq.job(queue="typed")
def typed_note(request: Note) -> None:
    """A typed job: its payload is a ``Note``'s JSON."""
    note(request.path, request.text)
