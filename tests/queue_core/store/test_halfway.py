"""Operations that fail half way leave the store and the indexes as they were.

Times the engine computes from user numbers saturate instead of failing;
what can still fail (a record that does not encode, such as a time the HTTP
layer would have refused) fails before anything is changed, so the job is
still held by its taker, ackable, with no error record for an attempt that
did not count (issue 16).
"""

import pytest

from queue_core.defaults import MAX_U64
from queue_core.options import EnqueueRequest, FailureRequest
from queue_core.store.patch import PatchRequest
from queue_core.types import IN_FLIGHT, Backoff

from .conftest import run, turn
from .test_lifecycle import Worker

TOO_LATE = MAX_U64 + 1  # not a u64: its record cannot be encoded


def req(**fields):
    return EnqueueRequest("t", "q", b"{}", **fields)


async def _held(store, **fields):
    (job,) = await store.enqueue([req(**fields)])
    Worker(store)
    await turn()
    assert store.dispatcher.job(job.id) is not None
    return job.id


def _assert_still_held(store, job_id, attempts=0):
    held = store.dispatcher.job(job_id)
    assert held is not None and held.status == IN_FLIGHT
    assert held.attempts == attempts and held.failed_at is None
    assert store.counts == {("q", IN_FLIGHT): 1}
    assert store.error(job_id, attempts + 1) is None


def test_a_huge_backoff_schedules_for_the_end_of_time(store, clock):
    """Exponent 1000: the second failure's delay is beyond u64 ms."""
    async def body():
        job_id = await _held(store, backoff=Backoff(1000, 0, 0))
        first = await store.fail(job_id, FailureRequest("one"))
        assert first.ready_at == clock() + 1000
        clock.advance(1000)
        assert await store.promote_due(10) == 1
        await turn()
        second = await store.fail(job_id, FailureRequest("two"))
        assert (second.status_name, second.attempts) == ("scheduled", 2)
        assert second.ready_at == MAX_U64
        assert store.get(job_id).ready_at == MAX_U64
        assert store.error(job_id, 2).message == "two"

    run(body())


def test_a_failure_that_cannot_be_written_changes_nothing(store):
    async def body():
        job_id = await _held(store)
        with pytest.raises(OverflowError):
            await store.fail(job_id, FailureRequest("m", retry_at=TOO_LATE))
        _assert_still_held(store, job_id)
        failed = await store.fail(job_id, FailureRequest("m", retry_at=5))
        assert (failed.status_name, failed.attempts) == ("scheduled", 1)
        assert store.error(job_id, 1).message == "m"

    run(body())


def test_a_patch_that_cannot_be_written_changes_nothing(store):
    async def body():
        job_id = await _held(store)
        with pytest.raises(OverflowError):
            await store.patch(job_id, PatchRequest(priority=1, ready_at=TOO_LATE))
        held = store.dispatcher.job(job_id)
        assert (held.priority, held.status) == (32768, IN_FLIGHT)
        _assert_still_held(store, job_id)
        await store.complete(job_id)
        assert store.get(job_id) is None

    run(body())
