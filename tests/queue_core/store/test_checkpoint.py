"""Store.checkpoint: a consistent copy of a live store on a real RocksDB."""

import asyncio

import pytest

from queue_core.errors import StorageError
from queue_core.filters import parse_job_filter
from queue_core.options import EngineConfig, EnqueueRequest
from queue_core.store import Store

from .conftest import run
from .test_lifecycle import req


def _open_copy(path):
    copy = Store(path, EngineConfig())
    copy.recover()
    return copy


def test_checkpoint_holds_what_was_answered_and_the_pending_batch(store, tmp_path):
    copy_path = str(tmp_path / "copy")

    async def body():
        jobs = [EnqueueRequest("t", "q", b'{"n":%d}' % n) for n in range(2000)]
        answered = await store.enqueue(jobs)
        # Applied but not yet written when the checkpoint starts: the
        # checkpoint writes the pending batch first.
        pending = asyncio.ensure_future(store.enqueue([req("pending")]))
        await asyncio.sleep(0)
        assert store.ks.pending_writes()
        await store.checkpoint(copy_path)
        await pending
        await store.enqueue([req("after")])
        return answered

    answered = run(body())
    copy = _open_copy(copy_path)
    try:
        assert run(copy.count(parse_job_filter(""))) == 2001
        assert run(copy.count(parse_job_filter("queue=pending"))) == 1
        assert run(copy.count(parse_job_filter("queue=after"))) == 0
        for job in answered[::97]:
            assert copy.get(job.id).payload == job.payload
    finally:
        copy.close()
    assert run(store.count(parse_job_filter(""))) == 2002  # the store goes on


def test_checkpoint_onto_an_existing_path_is_a_storage_error(store, tmp_path):
    (tmp_path / "taken").mkdir()

    async def body():
        await store.checkpoint(str(tmp_path / "taken"))

    with pytest.raises(StorageError, match="checkpoint failed"):
        run(body())
