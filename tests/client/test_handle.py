"""A job's handle (``client.job(id)``) against a real server: its calls,
its errors, and ``requeue_copy`` of a dead job, plain and unique (pro)."""

import asyncio

import pytest
import zizq_client as zizq

pytestmark = pytest.mark.slow


def kill(client, job_id: str, message: str = "boom") -> None:
    with client.take("q") as batches:
        [taken] = next(b for b in batches if b)
        assert taken.id == job_id
        client.nack(job_id, message, error_type="x.Boom", kill=True)


def test_a_handle_reads_updates_and_deletes_its_job(client):
    job = client.enqueue_raw(queue="q", type="t", payload=[1], delay="1h")
    handle = client.job(job.id)
    assert handle.get().payload == [1]
    assert handle.update(priority=3).priority == 3
    assert handle.errors() == []
    handle.delete()
    with pytest.raises(zizq.NotFound):
        handle.get()


def test_requeue_copy_gives_a_dead_job_a_fresh_start(client):
    job = client.enqueue_raw(
        queue="q",
        type="t",
        payload={"n": 1},
        retry_limit=2,
        retention={"dead_ms": 60_000},
    )
    kill(client, job.id)
    handle = client.job(job.id)
    assert handle.get().status == "dead"
    [record] = handle.errors()
    assert (record.message, record.error_type) == ("boom", "x.Boom")
    assert handle.error(1).attempt == 1
    copy = handle.requeue_copy(priority=1)
    assert copy.id != job.id and (copy.status, copy.priority) == ("ready", 1)
    again = client.get(copy.id)
    assert (again.payload, again.retry_limit, again.attempts) == ({"n": 1}, 2, 0)
    with pytest.raises(zizq.NotFound):
        handle.get()


def test_requeue_copy_of_a_unique_job_keeps_its_key(pro_client):
    job = pro_client.enqueue_raw(
        queue="q", type="t", payload=None, unique_key="k", unique_while="exists",
        retention={"dead_ms": 60_000},
    )  # fmt: skip
    kill(pro_client, job.id)
    copy = pro_client.job(job.id).requeue_copy(queue="q2")
    assert copy.id != job.id and copy.duplicate is False
    assert (copy.queue, copy.unique_key) == ("q2", "k")
    assert pro_client.count() == 1


def test_the_async_handle_covers_the_same_calls(zizq_server):
    async def scenario():
        async with zizq.AsyncClient(url=zizq_server.url) as client:
            await client.reset()
            job = await client.enqueue_raw(queue="q", type="t", payload=1, delay="1h")
            handle = client.job(job.id)
            assert (await handle.get()).payload == 1
            assert await handle.errors() == []
            copy = await handle.requeue_copy(payload=2)
            assert (await client.get(copy.id)).payload == 2
            assert copy.status == "ready"
            assert await client.count() == 1

    asyncio.run(scenario())
