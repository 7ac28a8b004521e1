"""The ack processor: successes go to the server in bulk, failures one by
one, from any thread, without blocking the job that finished.

Finished jobs append to a list under a lock; the loop task sends whatever
has gathered as one ``POST /jobs/success`` and, while that request is in
flight, the next batch gathers, so the batch size follows the load with no
timer. A network or server failure keeps the batch and retries with
backoff (the server may be restarting); a 422 for ids no longer in flight
(the server requeued them while it was away) is logged and dropped, since
another delivery of those jobs will be acked in its turn.
"""

import asyncio
import logging
import threading

from ..errors import AcksNotFound, ConnectionFailed, NotFound, ServerError

log = logging.getLogger("zizq_client.worker")

MAX_ACKS_PER_REQUEST = 1000
_RETRYABLE = (ConnectionFailed, ServerError)


class Acks:
    """Pending acks and nacks of one worker, sent by ``run()``."""

    def __init__(self, client, backoff) -> None:
        self.client = client
        self.backoff = backoff
        self._lock = threading.Lock()
        self._acks: list = []
        self._nacks: list = []
        self._sending = 0
        self._nack_tasks: set = set()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wake = asyncio.Event()

    def ack(self, job_id: str) -> None:
        with self._lock:
            first = not self._acks and not self._nacks
            self._acks.append(job_id)
        if first:
            self._notify()

    def nack(self, job_id: str, failure: dict) -> None:
        with self._lock:
            self._nacks.append((job_id, failure))
        self._notify()

    def idle(self) -> bool:
        """True when nothing is waiting or being sent."""
        return not self._acks and not self._nacks and not self._sending

    def _notify(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self._wake.set()
        else:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            with self._lock:
                acks, self._acks = self._acks, []
                nacks, self._nacks = self._nacks, []
            self._sending += 1
            try:
                for job_id, failure in nacks:
                    self._sending += 1  # released when the report is sent
                    task = asyncio.create_task(self._send_nack(job_id, failure))
                    self._nack_tasks.add(task)
                    task.add_done_callback(self._nack_tasks.discard)
                for start in range(0, len(acks), MAX_ACKS_PER_REQUEST):
                    await self._send_acks(acks[start : start + MAX_ACKS_PER_REQUEST])
            finally:
                self._sending -= 1

    async def _send_acks(self, ids: list) -> None:
        attempt = 0
        while True:
            try:
                await self.client.ack_bulk(ids)
                return
            except AcksNotFound as exc:
                log.warning(
                    "acks for jobs no longer in flight dropped: %s",
                    ",".join(exc.not_found),
                )
                return
            except _RETRYABLE as exc:
                attempt += 1
                log.warning("acking %d jobs failed (%s), retrying", len(ids), exc)
                await asyncio.sleep(self.backoff.delay(attempt))

    async def _send_nack(self, job_id: str, failure: dict) -> None:
        attempt = 0
        try:
            while True:
                try:
                    await self.client.nack(job_id, **failure)
                    return
                except NotFound:
                    log.warning(
                        "failure of job %s not recorded: no longer in flight", job_id
                    )
                    return
                except _RETRYABLE as exc:
                    attempt += 1
                    log.warning(
                        "reporting failure of job %s failed (%s), retrying", job_id, exc
                    )
                    await asyncio.sleep(self.backoff.delay(attempt))
        finally:
            self._sending -= 1
