"""``POST /backup``: a consistent online backup, streamed as tar.gz (spec 6.1).

Three stages, so that job traffic never waits on the backup:

1. On the loop: ``Store.checkpoint`` into a fresh directory beside the
   database (the same filesystem, so the SST files are hard links). A
   failure here is answered ``500 backup failed``.
2. In a thread of its own: ``tools.archive.write`` reads the checkpoint
   (files RocksDB never changes) and compresses it; zlib and file reads
   release the GIL, and the thread runs at background CPU priority
   (``queue_core.store.cpu_priority``), so on a busy core the loop keeps
   most of it. The thread touches none of the store's loop-owned objects.
3. On the loop: the chunks the thread hands over are sent as the chunked
   200 body. The thread may run at most ``chunks.CREDITS`` chunks ahead of
   what ``send`` has taken, and ``send`` of a streamed body waits while
   the client is not reading (serve/exchange.py), so a slow client holds
   the thread, not memory; a client that goes away stops the thread at its
   next chunk.

The checkpoint directory is removed whatever happens (after a crash, at
the next startup: ``checkpoint.remove_leftovers``). A failure after the
head is sent cannot change the status any more: the response is left
incomplete, which cuts the connection, so the client sees a truncated body
rather than a short archive that looks whole.
"""

import asyncio
import concurrent.futures
import logging
import os
import shutil
import threading

from queue_core.store import checkpoint, cpu_priority
from zizq_server.runtime import runtime
from zizq_server.tools import archive

from ..app import send_response
from .chunks import Cancelled, ChunkPipe

logger = logging.getLogger("zizq.api.admin")

_HEADERS = [
    (b"content-type", b"application/gzip"),
    (b"content-disposition", b'attachment; filename="backup.tar.gz"'),
]


async def backup(request, send):
    await request.body()
    store = runtime.store
    workdir = checkpoint.work_dir(store.path)
    try:
        snapshot = os.path.join(workdir, "data")
        try:
            await store.checkpoint(snapshot)
        except Exception:
            logger.exception("backup failed")
            return await send_response(send, 500, b"backup failed", "text/plain")
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await _stream(snapshot, request, send)
        return 200
    finally:
        await asyncio.get_running_loop().run_in_executor(
            None, shutil.rmtree, workdir, True
        )


backup.streaming = True


async def _stream(snapshot: str, request, send) -> None:
    """Send the archive of ``snapshot``, ending the body only if it is whole."""
    loop = asyncio.get_running_loop()
    pipe = ChunkPipe(loop)
    writer = _start_writer(snapshot, pipe)
    watcher = asyncio.ensure_future(_watch_disconnect(request, pipe))
    try:
        while (chunk := await pipe.get()) is not None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            pipe.sent()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except Cancelled:
        logger.info("backup abandoned by the client")
    except Exception:
        logger.exception("backup failed while streaming")
    finally:
        watcher.cancel()
        pipe.cancel()
        await writer  # the thread has let go of the snapshot's files


def _start_writer(snapshot: str, pipe: ChunkPipe) -> asyncio.Future:
    """Write the archive into ``pipe`` in a thread of its own, at background
    CPU priority (a pool thread would keep the priority for later work).

    The returned future resolves once the thread is done; the archive's end
    or error reaches the loop through ``pipe``.
    """
    done = concurrent.futures.Future()

    def write() -> None:
        try:
            cpu_priority.lower_current_thread()
            archive.write(snapshot, pipe)
            pipe.close()
        except BaseException as exc:
            pipe.fail(exc)
        finally:
            done.set_result(None)

    threading.Thread(target=write, name="zizq-backup", daemon=True).start()
    return asyncio.wrap_future(done)


async def _watch_disconnect(request, pipe: ChunkPipe) -> None:
    message = await request._receive()
    if message["type"] == "http.disconnect":
        pipe.cancel()
