"""The backup's thread-to-loop hand-over: bounded, ordered, cancellable."""

import asyncio
import threading

from zizq_server.api.admin.chunks import CHUNK_BYTES, CREDITS, Cancelled, ChunkPipe


def test_pipe_delivers_every_byte_in_order_in_chunks():
    data = bytes(range(256)) * (CHUNK_BYTES // 64)

    async def body():
        pipe = ChunkPipe(asyncio.get_running_loop())

        def writer():
            for start in range(0, len(data), 1000):
                pipe.write(data[start : start + 1000])
            pipe.close()

        thread = asyncio.get_running_loop().run_in_executor(None, writer)
        received = []
        while (chunk := await pipe.get()) is not None:
            received.append(chunk)
            pipe.sent()
        await thread
        return received

    received = asyncio.run(body())
    assert b"".join(received) == data
    assert all(len(chunk) >= CHUNK_BYTES for chunk in received[:-1])


def test_writer_waits_once_credits_run_out_until_chunks_are_sent():
    async def body():
        pipe = ChunkPipe(asyncio.get_running_loop())
        posted = threading.Semaphore(0)

        def writer():
            for _ in range(CREDITS + 2):
                pipe.write(bytes(CHUNK_BYTES))
                posted.release()
            pipe.close()

        thread = asyncio.get_running_loop().run_in_executor(None, writer)
        for _ in range(CREDITS):
            await asyncio.to_thread(posted.acquire)
        # Every credit is taken and nothing has been sent on: the writer
        # must be blocked in its next write, posting nothing more.
        assert not await asyncio.to_thread(posted.acquire, True, 0.2)
        chunks = 0
        while await pipe.get() is not None:
            chunks += 1
            pipe.sent()
        await thread
        return chunks

    assert asyncio.run(body()) == CREDITS + 2


def test_cancel_wakes_a_blocked_writer_and_fails_later_writes():
    async def body():
        pipe = ChunkPipe(asyncio.get_running_loop())
        outcome = []

        def writer():
            try:
                while True:
                    pipe.write(bytes(CHUNK_BYTES))
            except Cancelled:
                outcome.append("cancelled")

        thread = asyncio.get_running_loop().run_in_executor(None, writer)
        await pipe.get()  # the writer is running; never send it on
        pipe.cancel()
        await thread
        return outcome

    assert asyncio.run(body()) == ["cancelled"]


def test_writer_failure_is_raised_by_get():
    async def body():
        pipe = ChunkPipe(asyncio.get_running_loop())
        pipe.fail(OSError("disk gone"))
        try:
            await pipe.get()
        except OSError as exc:
            return str(exc)

    assert asyncio.run(body()) == "disk gone"
