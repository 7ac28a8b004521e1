"""Store: the engine's facade over RocksDB and the in-memory indexes.

It owns the state every operation module works on (keyspace, ready and
scheduled indexes, dispatcher, per-queue counts, configuration, clock, jq
pool) and exposes each operation as one method: the synchronous part runs
in the operation's module, then the method awaits the group commit with
the commit mode that applies. All of it runs on one event loop, so no
locks but one. jq is the one thing awaited before the synchronous part:
a ``filter``'s payload test runs in the jq pool's worker processes
(``queue_core.sandbox``), and a bulk patch or delete settles it into a set
of ids first (``scan.settle_payload``), so its writes still happen in one
synchronous step; a batched enqueue's folds run there too, under a lock
per batch key (``batch.enqueue``), and are written in one step after.
"""

import asyncio
import random

from ..clock import now_ms
from ..filters import JobFilter
from ..index import ReadyIndex, TimeIndex
from ..options import EngineConfig
from ..sandbox import JqPool
from . import (
    batch,
    checkpoint,
    complete,
    delete,
    enqueue,
    fail,
    kill,
    patch,
    read,
    recover,
    requeue,
    revive,
    scan,
    scheduled,
    unique,
)
from .cron import Crons
from .keyspace import Keyspace, open_db
from .take import Dispatcher, Taker
from .totals import Totals


class Store:
    """A job store rooted at a RocksDB directory."""

    def __init__(
        self,
        path: str,
        config: EngineConfig = EngineConfig(),
        clock=now_ms,
        rand=None,
        jq=None,
    ) -> None:
        self.path = path
        self.config = config
        self.clock = clock
        self.random = rand or random.random
        self.jq = jq or JqPool()  # spawns its workers on first use
        self.ks = Keyspace(open_db(path, config.storage))
        self.ready = ReadyIndex()
        self.scheduled = TimeIndex()
        self.counts = {}  # (queue, status) -> number of stored jobs
        self.unique = {}  # unique key -> holder id (store/unique.py)
        self.batches = {}  # batch key -> target id (store/batch.py)
        self.batch_locks = {}  # batch key -> [its lock, users] (store/batch.py)
        self.batch_rounds = batch.Rounds(self)  # batched enqueues' next round
        self.dispatcher = Dispatcher(self)
        self.feed = None  # the dashboard feed, while /events has clients
        self.schedule_changed = asyncio.Event()
        self.totals = Totals()  # enqueued/completed/failed, for rates
        self.crons = Crons(self)  # cron groups and their time index
        self.closed = False

    # -- lifecycle -------------------------------------------------------------

    def recover(self) -> recover.RecoveryReport:
        report = recover.recover(self)
        self.crons.load()
        return report

    def close(self) -> None:
        """Requeue what open takers hold, then flush and close the database."""
        for taker in list(self.dispatcher.takers):
            requeue.close_taker(self, taker)
        self.ks.close()
        self.jq.close()
        self.closed = True

    # -- effective per-job settings --------------------------------------------

    def retry_limit(self, job) -> int:
        if job.retry_limit is None:
            return self.config.default_retry_limit
        return job.retry_limit

    def backoff(self, job):
        return self.config.default_backoff if job.backoff is None else job.backoff

    def completed_retention_ms(self, job) -> int:
        r = job.retention
        if r is None or r.completed_ms is None:
            return self.config.default_completed_retention_ms
        return r.completed_ms

    def dead_retention_ms(self, job) -> int:
        r = job.retention
        if r is None or r.dead_ms is None:
            return self.config.default_dead_retention_ms
        return r.dead_ms

    def add_scheduled(self, job_id: str, ready_at: int) -> None:
        self.scheduled.add(job_id, ready_at)
        self.schedule_changed.set()

    # -- operations --------------------------------------------------------------

    async def enqueue(self, requests) -> list:
        if batch.batched(requests):
            jobs = await batch.enqueue(self, requests)
        else:
            jobs = enqueue.apply(self, requests, self.clock())
        self.totals.enqueued += unique.made(jobs)
        await self.ks.commit(self.config.enqueue_fsync, self.config.enqueue_batch_size)
        return jobs

    def open_taker(self, queues, prefetch: int, notify) -> Taker:
        taker = Taker(queues, prefetch, notify)
        self.dispatcher.add(taker)
        return taker

    def close_taker(self, taker: Taker) -> int:
        requeued = requeue.close_taker(self, taker)
        self.ks.request_flush()
        return requeued

    async def complete(self, job_id: str) -> None:
        complete.complete_one(self, job_id, self.clock())
        self.totals.completed += 1
        await self._commit_ack()

    async def complete_many(self, job_ids) -> list:
        not_found = complete.complete_many(self, job_ids, self.clock())
        self.totals.completed += len(job_ids) - len(not_found)
        await self._commit_ack()
        return not_found

    async def fail(self, job_id: str, request):
        job = fail.fail(self, job_id, request, self.clock())
        self.totals.failed += 1
        await self.ks.commit(self.config.default_fsync)
        return job

    def get(self, job_id: str):
        return read.get_visible(self, job_id, self.clock())

    async def list_jobs(self, job_filter, options):
        return await read.list_jobs(self, job_filter, options, self.clock())

    async def count(self, job_filter) -> int:
        return await scan.count(self, job_filter, self.clock())

    def list_errors(self, job_id: str, options):
        return read.list_errors(self, job_id, options)

    def error(self, job_id: str, attempt: int):
        return read.error_record(self, job_id, attempt)

    def queues(self) -> list:
        return read.queue_names(self)

    async def revive(self, job_id: str):
        """A dead job back to ready now (the admin's retry; not in the API)."""
        job = revive.revive(self, job_id, self.clock())
        await self.ks.commit(self.config.default_fsync)
        return job

    async def kill(self, job_id: str):
        """A job to dead now (the admin's kill; not in the API)."""
        job = kill.kill(self, job_id, self.clock())
        await self.ks.commit(self.config.default_fsync)
        return job

    async def delete(self, job_id: str) -> None:
        delete.delete_one(self, job_id)
        await self.ks.commit(self.config.default_fsync)

    async def delete_matching(self, job_filter) -> int:
        return await self._each_matching(delete.delete_matching, job_filter)

    async def reset(self) -> int:
        """Every cron group, then every job (API.md 7.5.6)."""
        await self.crons.delete_all()
        return await self.delete_matching(JobFilter())

    async def patch(self, job_id: str, request):
        job = patch.patch_one(self, job_id, request, self.clock())
        await self.ks.commit(self.config.default_fsync)
        return job

    async def patch_matching(self, job_filter, request) -> int:
        def apply(store, settled, now):
            return patch.patch_matching(store, settled, request, now)

        return await self._each_matching(apply, job_filter)

    async def kill_matching(self, job_filter) -> int:
        """Every waiting or in-flight match to dead now (the admin's)."""
        return await self._each_matching(kill.kill_matching, job_filter)

    async def revive_matching(self, job_filter) -> int:
        """Every dead match back to ready now (the admin's retry)."""
        return await self._each_matching(revive.revive_matching, job_filter)

    async def _each_matching(self, apply, job_filter) -> int:
        """``apply(store, filter, now)`` once the payload test is settled.

        The bulk operations share this: the jq part of the filter runs in the
        sandbox first, then ``apply`` changes the matches in one batch, which
        is committed, and a large change is followed by a compaction.
        """
        job_filter = await scan.settle_payload(self, job_filter, self.clock())
        if job_filter is None:
            return 0
        touched = apply(self, job_filter, self.clock())
        await self.ks.commit(self.config.default_fsync)
        await self._compact_after(touched)
        return touched

    async def compact(self) -> None:
        """Full compaction, off the event loop thread.

        The pending batch is written here, on the loop's thread: the batch,
        the overlay and commit futures belong to it.
        """
        self.ks.flush()
        await asyncio.get_running_loop().run_in_executor(None, self.ks.compact)

    async def checkpoint(self, path: str) -> None:
        """A consistent copy of the database at ``path`` (must not exist).

        The pending batch is written first, on the loop's thread, so every
        answered request is in the copy; the memtables are flushed in a
        worker thread so the checkpoint itself holds the GIL only briefly
        (store/checkpoint.py).
        """
        self.ks.flush()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, checkpoint.flush_memtables, self.ks)
        checkpoint.create(self.ks, path)

    async def _compact_after(self, touched: int) -> None:
        """Bulk changes leave many tombstones; compact past the threshold."""
        threshold = self.config.auto_compact_threshold
        if threshold and touched >= threshold:
            await self.compact()

    async def promote_due(self, limit: int) -> int:
        promoted = scheduled.promote_due(self, self.clock(), limit)
        await self.ks.commit(self.config.default_fsync)
        return promoted

    async def purge_expired(self, limit: int) -> int:
        purged = scheduled.purge_expired(self, self.clock(), limit)
        await self.ks.commit(self.config.default_fsync)
        return purged

    async def _commit_ack(self) -> None:
        await self.ks.commit(self.config.default_fsync, self.config.complete_batch_size)
