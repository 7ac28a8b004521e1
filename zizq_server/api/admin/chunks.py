"""A bounded hand-over of bytes from a worker thread to the event loop.

The backup's archive writer runs in a thread and writes into a
``ChunkPipe`` as into a file; the pipe cuts the bytes into chunks of
``CHUNK_BYTES`` and posts each to the loop with ``call_soon_threadsafe``.
The thread must hold one of ``CREDITS`` credits per posted chunk and the
loop returns a credit once it has sent the chunk on, so at most
``CREDITS`` chunks wait between the two whatever the client's speed.
``cancel`` (the client went away) wakes a writer that waits for a credit
and makes every later write raise ``Cancelled``, so the thread ends soon.
"""

import asyncio
import threading

CHUNK_BYTES = 256 * 1024
CREDITS = 4


class Cancelled(Exception):
    """Raised in the writer thread once the reader has given up."""


class ChunkPipe:
    """Thread side: ``write``, ``close``, ``fail``. Loop side: ``get``,
    ``sent``, ``cancel``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._inbox = asyncio.Queue()  # never holds more than CREDITS + 1 items
        self._credits = threading.Semaphore(CREDITS)
        self._cancelled = threading.Event()
        self._buffer = bytearray()

    # -- the writer thread ------------------------------------------------------

    def write(self, data) -> int:
        if self._cancelled.is_set():
            raise Cancelled()
        self._buffer += data
        if len(self._buffer) >= CHUNK_BYTES:
            self._hand(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def close(self) -> None:
        """The last bytes, then the end of the stream."""
        if self._buffer:
            self._hand(bytes(self._buffer))
            self._buffer.clear()
        self._post(None)

    def fail(self, error: BaseException) -> None:
        """End the stream with ``error``, raised by the loop's ``get``."""
        self._post(error)

    def _hand(self, chunk: bytes) -> None:
        self._credits.acquire()
        if self._cancelled.is_set():
            raise Cancelled()
        self._post(chunk)

    def _post(self, item) -> None:
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, item)

    # -- the event loop ------------------------------------------------------------

    async def get(self):
        """The next chunk, or None at the end; the writer's error is raised."""
        item = await self._inbox.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def sent(self) -> None:
        """A chunk has been passed on: the writer may post another."""
        self._credits.release()

    def cancel(self) -> None:
        if not self._cancelled.is_set():
            self._cancelled.set()
            self._credits.release()
