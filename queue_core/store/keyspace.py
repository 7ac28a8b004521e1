"""The RocksDB handle, the pending write batch, and group commit.

rocksdict's ``write()`` holds the GIL for the whole call, fsync included, so
threads buy nothing. Instead every operation of one event-loop turn writes
into one shared overlay dict (key -> value, None for a delete; reads in the
same turn see it), and the overlay is written once, as one ``WriteBatch``,
at the end of the turn, by a ``call_soon`` callback. The batch holds the
overlay's final value of each key in key order: RocksDB inserts a batch
into its memtable in batch order and starts each insert from where the
last one ended, so neighbouring keys cost a fraction of keys that jump
between the record, index and purge ranges (a bulk enqueue's ``db.write``:
1.9 -> 1.0 us a job).

Callers that answer a client await ``commit()``, which resolves after that
write, so an answered request is in the WAL (and fsynced, when any of the
coalesced callers asked for fsync). A batch that has coalesced
``max_requests`` committing requests (the ``--enqueue-batch-size`` /
``--complete-batch-size`` knobs) is written at once rather than at the end
of the turn, which bounds batch size and latency.

fsync commits are pipelined. A write with ``sync`` set holds the GIL
through the fsync, stalling the whole server for it; ``flush_wal(True)``
releases the GIL. So a batch that must be synced is written like any other
and its callers wait for the next WAL sync, which runs in one dedicated
thread while the loop goes on with the next turns; a sync covers every
write before it, so the callers of the turns that arrive meanwhile share
the following one.
"""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from rocksdict import (
    BlockBasedOptions,
    Cache,
    Options,
    ReadOptions,
    Rdict,
    WriteBatch,
    WriteOptions,
)

from ..errors import StorageError
from . import cpu_priority
from .turns import at_turn_end, running_loop

_MISSING = object()


def _options(tuning) -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    table = BlockBasedOptions()
    table.set_block_cache(Cache(tuning.cache_size_bytes))
    # Every take reads one record by key; a bloom filter lets that read skip
    # the SST files that cannot hold it (whole-key only: scans are unaffected).
    table.set_bloom_filter(10, False)
    opts.set_block_based_table_factory(table)
    if tuning.table_size_bytes is not None:
        opts.set_write_buffer_size(tuning.table_size_bytes)
        opts.set_target_file_size_base(tuning.table_size_bytes)
    if tuning.journal_size_bytes is not None:
        opts.set_max_total_wal_size(tuning.journal_size_bytes)
    if tuning.l0_threshold is not None:
        opts.set_level_zero_file_num_compaction_trigger(tuning.l0_threshold)
    return opts


def open_db(path: str, tuning) -> Rdict:
    """Open (creating) the database; a held lock becomes a clear StorageError."""
    os.makedirs(path, exist_ok=True)
    try:
        # Options given only for the DB are ignored for an existing default
        # column family on reopen; passing them per family makes the block
        # cache size stick (DESIGN.md section 2).
        db = Rdict(
            path, _options(tuning), column_families={"default": _options(tuning)}
        )
    except Exception as exc:  # rocksdict raises bare Exception
        text = str(exc)
        if "lock" in text.lower():
            raise StorageError(
                f"the database at {path} is in use by another process "
                f"(is another zizq server running on this root directory?)"
            ) from None
        raise StorageError(f"failed to open the database at {path}: {text}") from None
    # Compactions wait for the event loop, not the other way round.
    cpu_priority.lower_compaction_threads()
    return db


class Keyspace:
    """One database, one pending batch, one commit per event-loop turn."""

    def __init__(self, db: Rdict) -> None:
        self.db = db
        self._overlay = {}  # key -> value (None: deleted) of the pending batch
        self._requests = 0
        self._sync = False
        self._future = None
        self._scheduled = False
        self._buffered = WriteOptions()
        self._fsync = WriteOptions()
        self._fsync.sync = True
        self._awaiting_sync = []  # futures of written batches to resolve after a sync
        self._syncing = None  # the task running WAL syncs, while there is one
        self._sync_thread = None  # created on first use

    # -- writes ---------------------------------------------------------------

    def put(self, key: bytes, value: bytes) -> None:
        self._overlay[key] = value

    def pending_writes(self) -> dict:
        """The pending batch as a map (key -> value; None: delete) for
        callers that put many entries at once: storing into it is ``put``
        without a call per entry."""
        return self._overlay

    def delete(self, key: bytes) -> None:
        self._overlay[key] = None

    async def commit(self, sync: bool = False, max_requests: int = 0) -> None:
        """Resolve once everything written so far is in the WAL."""
        if not self._overlay:
            return
        if sync:
            self._sync = True
        future = self._future
        if future is None:
            future = self._future = asyncio.get_running_loop().create_future()
        self._requests += 1
        if max_requests and self._requests >= max_requests:
            self.flush()
        else:
            self.request_flush()
        await future

    def request_flush(self) -> None:
        """Write the pending batch at the end of this loop turn (now if no loop)."""
        if self._overlay and not self._scheduled:
            self._scheduled = at_turn_end(self.flush)

    def flush(self) -> None:
        """Write the pending batch now (also used outside a running loop)."""
        self._scheduled = False
        if not self._overlay:
            return
        batch, future, sync = _sorted_batch(self._overlay), self._future, self._sync
        self._overlay = {}
        self._requests = 0
        self._sync = False
        self._future = None
        pipelined = sync and running_loop() is not None
        try:
            self.db.write(batch, self._fsync if sync and not pipelined else self._buffered)
        except Exception as exc:  # rocksdict raises bare Exception
            if future is not None and not future.done():
                future.set_exception(StorageError(f"write failed: {exc}"))
                return
            raise StorageError(f"write failed: {exc}") from None
        if future is None:
            return
        if pipelined:
            self._sync_then_resolve(future)
        elif not future.done():
            future.set_result(None)

    def _sync_then_resolve(self, future) -> None:
        self._awaiting_sync.append(future)
        if self._syncing is None:
            self._syncing = asyncio.ensure_future(self._sync_loop())

    async def _sync_loop(self) -> None:
        """Sync the WAL in the sync thread until no written batch awaits one."""
        loop = asyncio.get_running_loop()
        if self._sync_thread is None:
            self._sync_thread = ThreadPoolExecutor(1, thread_name_prefix="zizq-wal-sync")
        try:
            while self._awaiting_sync:
                waiting, self._awaiting_sync = self._awaiting_sync, []
                try:
                    await loop.run_in_executor(self._sync_thread, self.db.flush_wal, True)
                except Exception as exc:  # rocksdict raises bare Exception
                    _settle(waiting, StorageError(f"WAL sync failed: {exc}"))
                else:
                    _settle(waiting, None)
        finally:
            self._syncing = None

    # -- reads ----------------------------------------------------------------

    def get(self, key: bytes):
        value = self._overlay.get(key, _MISSING)
        if value is _MISSING:
            return self.db.get(key)
        return value

    def scan(self, start: bytes, stop: bytes):
        """Yield ``(key, value)`` for ``start <= key < stop`` from the database.

        Scans see committed data only; callers flush first when they must see
        this turn's writes.
        """
        it = self.db.iter(ReadOptions())
        it.seek(start)
        while it.valid():
            key = it.key()
            if key >= stop:
                break
            yield key, it.value()
            it.next()

    def scan_reverse(self, start: bytes, stop: bytes):
        """Yield ``(key, value)`` for ``start <= key < stop``, highest first."""
        it = self.db.iter(ReadOptions())
        it.seek_for_prev(stop)
        while it.valid():
            key = it.key()
            if key < start:
                break
            if key < stop:
                yield key, it.value()
            it.prev()

    def compact(self) -> None:
        """Full manual compaction of what has been written.

        Safe to run in another thread; the pending batch is not touched
        (``flush`` it first, on the loop's thread).
        """
        self.db.compact_range(None, None)

    def close(self) -> None:
        self.flush()
        if self._sync_thread is not None:
            self._sync_thread.shutdown(wait=True)  # no sync may outlive the db
        self.db.flush_wal(True)
        _settle(self._awaiting_sync, None)
        self._awaiting_sync = []
        self.db.close()


def _sorted_batch(overlay: dict) -> WriteBatch:
    """The overlay's writes in key order (see the module docstring)."""
    batch = WriteBatch(raw_mode=True)
    put, delete = batch.put, batch.delete
    for key in sorted(overlay):  # keys alone sort faster than (key, value)
        value = overlay[key]
        if value is None:
            delete(key)
        else:
            put(key, value)
    return batch


def _settle(futures, error) -> None:
    """Resolve ``futures`` (None) or fail them with ``error``."""
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix``."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return b"\xff" * (len(prefix) + 1)
    return trimmed[:-1] + bytes((trimmed[-1] + 1,))
