"""The worker: one streaming take connection feeding sync jobs to a thread
pool and async jobs to the event loop, in one process.

The loop owns the take stream and the ack processor. The server delivers
at most ``prefetch`` unacknowledged jobs (2 x the slots by default, so the
pipeline stays full while acks travel); each is resolved on the loop and
either queued for the threads or for the ``async_concurrency`` runner
tasks on the loop.

Shutdown is a drain, as in the Ruby client: the first SIGTERM/SIGINT stops
jobs from starting but keeps the stream open until running jobs finish and
their acks are flushed, and only then closes it, so the server requeues
just the jobs that never started (nothing lost, nothing run twice). The
timeout or a second signal closes the stream at once. A lost stream is
reopened with backoff; jobs it had delivered but not started are dropped
here, because the server requeued them when the connection went.
"""

import asyncio
import logging
import os
import queue
import signal
import socket
import threading
from collections import deque

from ..client import AsyncClient
from ..errors import ConnectionFailed, ServerError, UnknownJobType
from ..transport import ClientConfig
from .acks import Acks
from .delays import RetryDelays
from .dispatch import Dispatcher, failure_for

log = logging.getLogger("zizq_client.worker")

DEFAULT_RETRY = RetryDelays()


class Worker:
    """Runs jobs from ``queues`` (all queues when None) until stopped."""

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        queues=None,
        concurrency: int = 10,
        async_concurrency: int = 50,
        prefetch: int | None = None,
        middleware=(),
        shutdown_timeout: float = 30.0,
        worker_id: str | None = None,
        retry: RetryDelays = DEFAULT_RETRY,
        read_timeout: float = 30.0,
        handle_signals: bool = True,
        **options,
    ) -> None:
        if concurrency < 0 or async_concurrency < 1:
            raise ValueError("concurrency must be >= 0 and async_concurrency >= 1")
        self.config = config.using(**options) if config else ClientConfig(**options)
        self.queues = queues
        self.concurrency = concurrency
        self.async_concurrency = async_concurrency
        self.prefetch = prefetch or 2 * (concurrency + async_concurrency)
        self.shutdown_timeout = shutdown_timeout
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.retry = retry
        self.read_timeout = read_timeout
        self.handle_signals = handle_signals
        self.dispatcher = Dispatcher(middleware, self.worker_id)
        self._lock = threading.Lock()
        self._running = 0
        self._stopping = False
        self._generation = 0
        self._jobs = queue.SimpleQueue()
        self._tasks: set = set()  # the async runners
        self._loop = None

    def run(self) -> int:
        """Run until stopped; 0 after a full drain, 1 after a hard stop."""
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            factory = None
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(self.arun())

    def stop(self) -> None:
        """Begin a graceful drain (from any thread); twice stops at once."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._signalled)

    async def arun(self) -> int:
        self._loop = asyncio.get_running_loop()
        self._stop_requested, self._hard = asyncio.Event(), asyncio.Event()
        self.client = AsyncClient(self.config)
        self._acks = Acks(self.client, self.retry)
        self._ready, self._wakeup = deque(), asyncio.Event()
        self._tasks = {
            asyncio.create_task(self._async_runner())
            for _ in range(self.async_concurrency)
        }
        threads = [
            threading.Thread(
                target=self._thread_main, daemon=True, name=f"zizq-worker-{n}"
            )
            for n in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        self._install_signals()
        acks = asyncio.create_task(self._acks.run())
        stream = asyncio.create_task(self._consume())
        log.info(
            "worker started id=%s queues=%s threads=%d async=%d prefetch=%d",
            self.worker_id,
            self.queues or "*",
            self.concurrency,
            self.async_concurrency,
            self.prefetch,
        )
        try:
            stop = asyncio.create_task(self._stop_requested.wait())
            await asyncio.wait([stream, stop], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if stream.done():
                stream.result()
            return await self._drain()
        finally:
            await self._close(stream, acks, threads)

    def _install_signals(self) -> None:
        if (
            not self.handle_signals
            or threading.current_thread() is not threading.main_thread()
        ):
            return
        for number in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(number, self._signalled)

    def _signalled(self) -> None:
        if self._stop_requested.is_set():
            self._hard.set()
        self._stop_requested.set()

    async def _drain(self) -> int:
        with self._lock:
            self._stopping = True
            running = self._running
        log.info("worker draining: %d jobs running", running)
        drained = asyncio.create_task(self._until_drained())
        hard = asyncio.create_task(self._hard.wait())
        done, _ = await asyncio.wait(
            [drained, hard],
            timeout=self.shutdown_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        drained.cancel()
        hard.cancel()
        if drained in done:
            log.info("worker drained: every started job finished and acked")
            return 0
        log.warning(
            "worker stopping now with %d jobs running (their jobs go "
            "back to the queue)",
            self._running,
        )
        return 1

    async def _until_drained(self) -> None:
        while self._running or not self._acks.idle():
            await asyncio.sleep(0.01)

    async def _close(self, stream, acks, threads) -> None:
        stream.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(stream, *self._tasks, return_exceptions=True)
        acks.cancel()
        await asyncio.gather(acks, return_exceptions=True)
        for _ in threads:
            self._jobs.put(None)
        await self.client.aclose()
        if (
            self.handle_signals
            and threading.current_thread() is threading.main_thread()
        ):
            for number in (signal.SIGTERM, signal.SIGINT):
                self._loop.remove_signal_handler(number)

    async def _consume(self) -> None:
        """Keep one take stream open, reconnecting with backoff."""
        attempt = 0
        while True:
            try:
                async with self.client.take(
                    self.queues,
                    prefetch=self.prefetch,
                    worker_id=self.worker_id,
                    read_timeout=self.read_timeout,
                ) as batches:
                    generation = self._next_generation()
                    if attempt:
                        log.info("take stream reconnected after %d attempts", attempt)
                    attempt = 0
                    async for jobs in batches:
                        if jobs:
                            self._accept(jobs, generation)
                log.warning("take stream closed by the server")
            except (ConnectionFailed, ServerError) as exc:
                log.warning("take stream lost: %s", exc)
            self._next_generation()
            attempt += 1
            await asyncio.sleep(self.retry.delay(attempt))

    def _next_generation(self) -> int:
        with self._lock:
            self._generation += 1
            return self._generation

    def _accept(self, jobs: list, generation: int) -> None:
        for job in jobs:
            if self._stopping:
                return  # left in flight: requeued when the stream closes
            try:
                target = self.dispatcher.target(job)
            except UnknownJobType as exc:
                self._acks.nack(job.id, failure_for(exc, None))
                continue
            if target.is_async:
                self._ready.append((job, target, generation))
                self._wakeup.set()
            else:
                self._jobs.put((job, target, generation))

    def _begin(self, generation: int) -> bool:
        """Count a job as running unless draining or its stream is gone."""
        with self._lock:
            if self._stopping or generation != self._generation:
                return False
            self._running += 1
            return True

    def _finish(self, job, failure) -> None:
        if failure is None:
            self._acks.ack(job.id)
        else:
            self._acks.nack(job.id, failure)
        with self._lock:
            self._running -= 1

    def _thread_main(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, target, generation = item
            if self._begin(generation):
                self._finish(job, self.dispatcher.run_sync(job, target))

    async def _async_runner(self) -> None:
        """One of ``async_concurrency`` tasks running async jobs in turn (a
        task per job would cost a task, a semaphore and a callback each)."""
        ready, wakeup = self._ready, self._wakeup
        while True:
            while not ready:
                wakeup.clear()
                await wakeup.wait()
            job, target, generation = ready.popleft()
            if not self._begin(generation):
                continue
            try:
                failure = await self.dispatcher.run_async(job, target)
            except asyncio.CancelledError:
                with self._lock:
                    self._running -= 1
                raise
            self._finish(job, failure)
