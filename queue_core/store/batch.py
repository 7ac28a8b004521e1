"""Batched jobs (API.md 7.2.5): each key's target, and folding into it.

For each batch key there is at most one target: a ``ready`` job that
carries the key and that later ready batched enqueues with the key fold
into (its stored ``when`` decides; its ``fold`` makes its new payload, in
place: same id, queue position, priority, queue, type and ``ready_at``).
A falsy ``when`` seals the target, which stays an ordinary pending job, and
the incoming enqueue makes the next one. A scheduled batched enqueue never
folds and never becomes a target.

In memory ``store.batches`` maps key -> target id. Persisted as
``B <key utf-8>`` -> target id, written in the same write batch as the job
that becomes the target, and checked against the ``I`` index at start-up
(``load``, ``verify``): a ready job holding its key is still a target.
A fold is the target's record rewritten in one write batch, so a crash
leaves the old payload or the new one; the answer waits for the commit.

A target stops being one as soon as it leaves ``ready`` (taken, scheduled
by a patch, failed, killed, deleted, finished, reset): ``records`` calls
``left_ready``/``release`` on every status change and deletion of a batched
job, in the same write batch, and nothing makes it a target again.

``enqueue`` is the operation. The jq work (dry-runs of every batched
request, then the folds of each key's ready requests in order, read your
writes within a bulk) is one sandbox call (``queue_core.sandbox.batch``),
made under a lock per key of the call, so two folds into one key never
interleave. A target taken while the call was out is noticed after it
(the key's target changed) and the call is planned again, which then finds
no target for that key. Then everything is written in one synchronous
step: folded payloads, new jobs (``enqueue.apply``), new targets.

Folds into one key are serial, so a call's wait is a jq round trip per
call ahead of it. Calls are therefore planned in rounds (``Rounds``): the
calls that arrive while a round is out wait for the next one, which plans
them all as one bulk, in arrival order, with one sandbox call and one
write step, so 16 producers folding into one key cost a round trip per
16 folds, not per fold. Each call still gets its own answer: a call
refused in a round (its index names it) fails alone and the round is
planned again without it; a bound overrun, which names no request, has
the round's calls planned one by one, so only the call that overran fails.
"""

import asyncio
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

from ..defaults import BATCH_ROUND_REQUESTS, MAX_U64
from ..errors import Unprocessable
from ..sandbox import BatchRefused, JqLimitExceeded
from ..types import READY
from . import enqueue as plain  # which imports records, which imports this module
from . import records
from .unique import Enqueued

TAG = b"B"


class Refused(Unprocessable):
    """A batched request's 422; ``index`` is its place in the enqueue call
    (None when the jq bound stopped the call as a whole)."""

    def __init__(self, message: str, index=None) -> None:
        super().__init__(message)
        self.index = index


def batched(requests) -> bool:
    """Whether any enqueue request carries ``batch``."""
    for request in requests:
        if request.batch is not None:
            return True
    return False


async def enqueue(store, requests, write=None) -> Enqueued:
    """Write an enqueue call that has batched requests (not yet committed),
    in the next round.

    ``write(apply)``, if given, is the step that writes (a cron pass), and
    the call is planned alone, under its keys' locks, so never beside an
    enqueue's round: it
    calls ``apply()``, which writes the plan and returns the call's jobs,
    beside writes of its own and returns what it likes; or it writes nothing
    and returns None when its own state changed while jq ran, and so does
    this.
    """
    if write is None:
        return await store.batch_rounds.submit(requests)
    async with _locked(store, [requests]):
        plan = await _current_plan(store, requests)
        return write(partial(plan.apply, store))


async def _current_plan(store, requests):
    """The requests planned and evaluated, with the targets still current
    (held keys' locks)."""
    while True:
        plan = Plan(store, requests, store.clock())
        await plan.evaluate(store)
        if plan.current(store):
            return plan


class Rounds:
    """The enqueue calls waiting for the next round, and the round runner."""

    def __init__(self, store) -> None:
        self.store = store
        self.waiting = []  # (requests, future) in arrival order
        self.runner = None  # the task running rounds, while there is one

    async def submit(self, requests) -> Enqueued:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((requests, future))
        if self.runner is None:
            self.runner = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self.waiting:
                calls = self._next_round()
                if calls:
                    await self._round(calls)
        finally:
            self.runner = None

    def _next_round(self) -> list:
        """The waiting calls, in order, up to ``BATCH_ROUND_REQUESTS``
        requests (one call at least); calls whose caller left are dropped."""
        taken, size = 0, 0
        for requests, future in self.waiting:
            if taken and size + len(requests) > BATCH_ROUND_REQUESTS:
                break
            taken += 1
            size += len(requests)
        calls, self.waiting = self.waiting[:taken], self.waiting[taken:]
        return [call for call in calls if not call[1].done()]

    async def _round(self, calls: list) -> None:
        try:
            async with _locked(self.store, [requests for requests, _ in calls]):
                await self._write(calls)
        except asyncio.CancelledError:  # the loop is ending
            for _, future in calls:
                future.cancel()
            raise
        except Exception as exc:  # storage, a closed pool
            for _, future in calls:
                _settle(future, exc)

    async def _write(self, calls: list) -> None:
        """Plan the calls as one, dropping each refused one; answer them."""
        store = self.store
        while calls:
            requests = [r for call_requests, _ in calls for r in call_requests]
            try:
                plan = await _current_plan(store, requests)
            except Refused as exc:
                if exc.index is None and len(calls) > 1:
                    for call in calls:
                        await self._write([call])
                    return
                calls = _refuse(calls, exc)
                continue
            enqueued, start = plan.apply(store), 0
            for call_requests, future in calls:
                end = start + len(call_requests)
                _settle(future, _part(enqueued, start, end))
                start = end
            return


async def check(store, request) -> None:
    """Compile and dry-run one request's expressions alone (a cron
    template's, at definition time): ``Refused`` if they fail."""
    await Plan(store, [request._replace(ready_at=MAX_U64)], 0).evaluate(store)


class Plan:
    """One call's batched requests, each key's target, and what jq said."""

    def __init__(self, store, requests, now_ms: int) -> None:
        self.requests = requests
        self.now_ms = now_ms
        self.checked = []  # the index of each batched request
        self.targets = {}  # key -> its target Job, or None; in order of use
        self.seen = {}  # key -> the target id the plan started from
        self.chains = {}  # key -> the indexes in ``checked`` of its ready requests
        for index, request in enumerate(requests):
            if request.batch is None:
                continue
            if request.ready_at is None or request.ready_at <= now_ms:
                key = request.batch.key
                if key not in self.targets:
                    self.seen[key] = store.batches.get(key)
                    self.targets[key] = _target(store, self.seen[key])
                    self.chains[key] = []
                self.chains[key].append(len(self.checked))
            self.checked.append(index)
        self.results = None

    async def evaluate(self, store) -> None:
        checks = []
        for index in self.checked:
            request = self.requests[index]
            checks.append([request.batch.when, request.batch.fold, request.payload])
        chains = []
        for key, target in self.targets.items():
            current = None
            if target is not None:
                current = [target.batch.when, target.batch.fold, target.payload]
            chains.append([current, self.chains[key]])
        try:
            self.results = await store.jq.batch(
                checks, chains, store.config.max_payload_bytes
            )
        except BatchRefused as exc:
            raise Refused(exc.message, self.checked[exc.index]) from None
        except JqLimitExceeded as exc:
            raise Refused(f"batch expression exceeded {exc.limit}") from None

    def current(self, store) -> bool:
        """Whether every key still has the target it was planned with."""
        for key, job_id in self.seen.items():
            if store.batches.get(key) != job_id:
                return False
        return True

    def apply(self, store) -> Enqueued:
        """Write the plan: folds in place, new jobs, their targets."""
        requests = list(self.requests)
        into = {}  # request index -> (key, target ref) it folds into
        for (key, target), (outcomes, payloads) in zip(
            self.targets.items(), self.results
        ):
            starters = [self.checked[i] for i in self.chains[key]]
            for index, outcome in zip(starters, outcomes):
                if outcome is not None:
                    into[index] = (key, outcome)
            for ref, payload in payloads:
                if ref == 0:
                    _fold(store, target, payload)
                else:
                    index = starters[ref - 1]
                    requests[index] = requests[index]._replace(payload=payload)
        fresh = [r for i, r in enumerate(requests) if i not in into]
        made = plain.apply(store, fresh, self.now_ms, claim=claim)
        return self._results(made, into)

    def _results(self, made, into: dict) -> Enqueued:
        """Every request's job in input order, flagged as duplicate or fold."""
        duplicates = getattr(made, "duplicates", None) or [False] * len(made)
        jobs, flags, folded = [], [], []
        new = iter(zip(made, duplicates))
        by_index = {}  # request index -> its new job
        for index in range(len(self.requests)):
            fold = into.get(index)
            if fold is None:
                job, duplicate = next(new)
                by_index[index] = job
            else:
                key, ref = fold
                if ref == 0:
                    job = self.targets[key]
                else:
                    job = by_index[self.checked[self.chains[key][ref - 1]]]
                duplicate = False
            jobs.append(job)
            flags.append(duplicate)
            folded.append(fold is not None)
        return Enqueued(jobs, flags, folded)


def _target(store, job_id):
    """The target job ``job_id`` names, if there is one and it is ``ready``
    (always, unless the store was damaged: then the next target replaces it)."""
    job = None if job_id is None else records.load(store, job_id)
    return job if job is not None and job.status == READY else None


def _fold(store, target, payload: bytes) -> None:
    target.payload = payload
    records.save(store, target, READY, target.queue, target.purge_at)


def claim(store, jobs) -> None:
    """Each new ready batched job becomes its key's target (the last of a
    key in the call is the one that stays); before it is filed, since a
    taker may take it at once."""
    writes = store.ks.pending_writes()
    for job in jobs:
        if job.batch is not None and job.status == READY:
            store.batches[job.batch.key] = job.id
            writes[TAG + job.batch.key.encode()] = job.id.encode()


def _refuse(calls: list, exc: Refused) -> list:
    """Fail the call the refusal names (all of them: a lone one); the rest."""
    start = 0
    for n, (call_requests, future) in enumerate(calls):
        end = start + len(call_requests)
        if exc.index is None or exc.index < end:
            index = None if exc.index is None else exc.index - start
            _settle(future, Refused(exc.message, index))
            return calls[:n] + calls[n + 1 :]
        start = end
    return []


def _part(enqueued: Enqueued, start: int, end: int) -> Enqueued:
    return Enqueued(
        enqueued[start:end],
        enqueued.duplicates[start:end],
        enqueued.folded[start:end],
    )


def _settle(future, outcome) -> None:
    if future.done():  # its caller is gone
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


@asynccontextmanager
async def _locked(store, calls):
    """The locks of every batch key of ``calls`` (lists of requests), taken
    in key order."""
    keys = {r.batch.key for requests in calls for r in requests if r.batch is not None}
    async with AsyncExitStack() as held:
        for key in sorted(keys):
            await held.enter_async_context(_lock(store, key))
        yield


class _lock:
    """The key's lock, forgotten once nobody holds or awaits it."""

    def __init__(self, store, key: str) -> None:
        self.locks, self.key = store.batch_locks, key

    async def __aenter__(self) -> None:
        entry = self.locks.get(self.key)
        if entry is None:
            entry = self.locks[self.key] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            await entry[0].acquire()
        except BaseException:
            self._leave(entry)
            raise

    async def __aexit__(self, *exc) -> None:
        entry = self.locks[self.key]
        entry[0].release()
        self._leave(entry)

    def _leave(self, entry) -> None:
        entry[1] -= 1
        if not entry[1]:
            del self.locks[self.key]


def left_ready(store, job) -> None:
    """A batched job changed status: a target that is not ``ready`` is none."""
    if job.status != READY:
        release(store, job)


def release(store, job) -> None:
    """``job`` stops being its key's target, if it is it."""
    key = job.batch.key
    if store.batches.get(key) == job.id:
        del store.batches[key]
        store.ks.delete(TAG + key.encode())


def load(store) -> dict:
    """Fill ``store.batches`` from the ``B`` range; target id -> key."""
    targets = {}
    for stored_key, value in store.ks.scan(TAG, TAG + b"\xff"):
        key, job_id = stored_key[1:].decode(), value.decode()
        store.batches[key] = job_id
        targets[job_id] = key
    return targets


def verify(store, targets: dict, ready: set) -> int:
    """Drop the targets that are not ready jobs (``ready``: the ids of the
    ready jobs among ``targets`` the index scan met); how many."""
    dropped = 0
    for job_id, key in targets.items():
        if job_id not in ready:
            del store.batches[key]
            store.ks.delete(TAG + key.encode())
            dropped += 1
    return dropped
