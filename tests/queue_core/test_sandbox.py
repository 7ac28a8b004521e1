"""The jq pool: bounded worker processes driven from the event loop.

Real worker processes throughout. Orderings are asserted (a call finishes
before a runaway one is stopped), never durations; waits for a process to
go away are bounded generously and only fail when it never does.
"""

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from queue_core.sandbox import JqCompileError, JqLimitExceeded

from .jq_loop import run_with_pool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNAWAYS = [
    "def f: f; f",
    "until(false; .)",
    "last(repeat(1))",
    "[range(200000000)] | length",
]
ALLOCATORS = ["null | .[536870000] = 1 | length > 0", '"a" * 1000000000 | length']


def gone(pid: int, timeout: float = 30.0) -> bool:
    """True once no process ``pid`` exists (reaped, or never ours to reap)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True  # exited; its parent has not reaped it yet
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_verdicts_and_compile_errors():
    async def body(pool):
        verdicts = await pool.matches(".n > 1", [b'{"n":2}', b'{"n":1}', b"7"])
        with pytest.raises(JqCompileError) as caught:
            await pool.matches(".[*]", [])
        return verdicts, caught.value.detail

    verdicts, detail = run_with_pool(body)
    assert verdicts == b"\x01\x00\x00"
    assert detail == "syntax error, unexpected '*' at <top-level>, line 1, column 3"


@pytest.mark.parametrize("program", RUNAWAYS)
def test_a_runaway_program_is_stopped_at_the_time_limit(program):
    async def body(pool):
        with pytest.raises(JqLimitExceeded) as caught:
            await pool.matches(program, [b"null"])
        return caught.value.limit, await pool.matches(".", [b"1"])

    limit, after = run_with_pool(body, time_limit_ms=200)
    assert limit == "the time limit of 200 ms"
    assert after == b"\x01"  # a fresh worker took the dead one's place


@pytest.mark.parametrize("program", ALLOCATORS)
def test_an_allocation_past_the_memory_limit_ends_only_the_worker(program):
    """libjq aborts on a failed allocation, at run time or compile time."""

    async def body(pool):
        with pytest.raises(JqLimitExceeded) as caught:
            await pool.matches(program, [b"null"])
        return caught.value.limit, await pool.matches(".", [b"1"])

    limit, after = run_with_pool(body, memory_limit_bytes=256 * 1024 * 1024)
    assert limit == "the memory limit of 256 MiB"
    assert after == b"\x01"


def test_a_deeply_nested_output_is_not_converted():
    """Converting it to Python would overflow the C stack (a segfault)."""

    async def body(pool):
        return await pool.matches("reduce range(100000) as $i (0; [.])", [b"null"])

    assert run_with_pool(body) == b"\x01"


def test_other_calls_are_served_while_a_program_runs_away():
    async def body(pool):
        await asyncio.gather(pool.matches(".", [b"1"]), pool.matches(".", [b"1"]))
        runaway = asyncio.ensure_future(pool.matches("def f: f; f", [b"1"]))
        normal = asyncio.ensure_future(pool.matches(".n", [b'{"n":1}'] * 1000))
        done, _ = await asyncio.wait(
            {runaway, normal}, return_when=asyncio.FIRST_COMPLETED
        )
        assert done == {normal} and normal.result() == b"\x01" * 1000
        with pytest.raises(JqLimitExceeded):
            await runaway

    run_with_pool(body, workers=2)


def test_calls_beyond_the_pool_size_wait_their_turn():
    async def body(pool):
        calls = [pool.matches(f".n == {n}", [b'{"n":1}', b'{"n":2}']) for n in range(6)]
        results = await asyncio.gather(*calls)
        return results, len(pool.pids)

    results, workers = run_with_pool(body, workers=1)
    assert results == [b"\x00\x00", b"\x01\x00", b"\x00\x01"] + [b"\x00\x00"] * 3
    assert workers == 1


def test_a_cancelled_call_keeps_its_worker_until_the_reply():
    """The next caller must get its own reply, not the cancelled call's."""

    async def body(pool):
        slow = asyncio.ensure_future(
            pool.matches("[range(3000000)] | length == 3000000", [b"null"])
        )
        await asyncio.sleep(0.05)
        slow.cancel()
        return await pool.matches(". == 2", [b"1", b"2"])

    assert run_with_pool(body, workers=1) == b"\x00\x01"


def test_an_unexpected_death_is_logged(caplog):
    async def body(pool):
        await pool.matches(".", [b"1"])
        (pid,) = pool.pids
        call = asyncio.ensure_future(pool.matches("def f: f; f", [b"1"]))
        await asyncio.sleep(0.05)
        os.kill(pid, signal.SIGTERM)
        with pytest.raises(JqLimitExceeded):
            await call

    with caplog.at_level(logging.WARNING, logger="zizq.jq"):
        run_with_pool(body, workers=1)
    assert [r.getMessage() for r in caplog.records] == ["jq worker exited unexpectedly"]


def test_close_ends_and_reaps_every_worker():
    pids = []

    async def body(pool):
        await asyncio.gather(pool.matches(".", [b"1"]), pool.matches(".", [b"1"]))
        pids.extend(pool.pids)

    run_with_pool(body, workers=2)
    assert len(pids) == 2
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")


OWNER = """
import asyncio, sys, time
from queue_core.sandbox import JqPool

async def main():
    pool = JqPool()
    await asyncio.gather(pool.matches(".", [b"1"]), pool.matches(".", [b"1"]))
    print(*pool.pids, flush=True)
    time.sleep(600)

asyncio.run(main())
"""


def test_workers_exit_by_themselves_when_their_server_is_killed():
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    try:
        pids = [int(pid) for pid in owner.stdout.readline().split()]
    finally:
        owner.kill()
        owner.wait()
    assert len(pids) == 2
    assert all(gone(pid) for pid in pids)


def test_a_closed_pool_spawns_no_worker():
    async def body(pool):
        pool.close()
        with pytest.raises(RuntimeError, match="closed"):
            await pool.matches(".", [b"1"])
        return pool.pids

    assert run_with_pool(body) == []
