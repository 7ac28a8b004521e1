"""Every API call of the sync and asyncio clients against a real server,
in both formats over HTTP/1.1 and h2c."""

import asyncio

import pytest
import zizq_client as zizq

pytestmark = pytest.mark.slow


def test_health_and_version_answer(client):
    assert client.health() == {"status": "ok"}
    assert client.version().count(".") == 2


def test_enqueue_returns_the_new_job_without_payload(client):
    job = client.enqueue_raw(
        queue="q",
        type="t",
        payload={"a": [1, "é"]},
        priority=7,
        retry_limit=3,
        backoff=zizq.Backoff(base="1s", exponent=2, jitter=0),
        retention=zizq.Retention(completed="1h"),
    )
    assert (job.queue, job.type, job.priority, job.status) == ("q", "t", 7, "ready")
    assert job.retry_limit == 3 and job.duplicate is False and job.payload is None
    assert job.backoff == {"exponent": 2.0, "base_ms": 1000, "jitter_ms": 0}
    assert job.retention == {"completed_ms": 3_600_000}
    assert client.get(job.id).payload == {"a": [1, "é"]}


def test_enqueue_with_delay_is_scheduled(client):
    job = client.enqueue_raw(queue="q", type="t", payload=None, delay="1h")
    assert job.status == "scheduled"
    assert client.get(job.id).payload is None


def test_bulk_enqueue_keeps_input_order_and_is_atomic(client):
    jobs = client.enqueue_bulk(
        [
            {"queue": "a", "type": "t", "payload": 1},
            {"queue": "b", "type": "t", "payload": 2},
        ]
    )
    assert [j.queue for j in jobs] == ["a", "b"]
    with pytest.raises(zizq.BadRequest, match=r"jobs\[1\]: queue must not contain"):
        client.enqueue_bulk(
            [
                {"queue": "c", "type": "t", "payload": 1},
                {"queue": "x,y", "type": "t", "payload": 1},
            ]
        )
    assert client.queues() == ["a", "b"]


def test_take_ack_and_bulk_ack(client):
    ids = [client.enqueue_raw(queue="q", type="t", payload=n).id for n in range(3)]
    with client.take(["q"], prefetch=3) as batches:
        taken = []
        for batch in batches:
            taken += batch
            if len(taken) == 3:
                break
    assert [j.id for j in taken] == ids
    assert taken[0].status == "in_flight" and taken[0].payload == 0


def test_acks_complete_in_flight_jobs(client):
    ids = [
        client.enqueue_raw(
            queue="q", type="t", payload=n, retention={"completed_ms": 60_000}
        ).id
        for n in range(3)
    ]
    with client.take("q", prefetch=0) as batches:
        taken = []
        for batch in batches:
            taken += batch
            if len(taken) == 3:
                break
        client.ack(ids[0])
        with pytest.raises(zizq.AcksNotFound) as caught:
            client.ack_bulk([ids[1], ids[2], ids[0]])
    assert caught.value.not_found == [ids[0]]
    assert client.count(status="completed") == 3
    with pytest.raises(zizq.NotFound, match="in-flight set"):
        client.ack(ids[0])


def test_nack_records_the_error_and_kill_ends_the_job(client):
    job = client.enqueue_raw(queue="q", type="t", payload=None)
    with client.take("q") as batches:
        next(batches)
        failed = client.nack(
            job.id, "boom", error_type="x.Boom", backtrace="tb", retry_at=0
        )
    assert failed.status == "scheduled" and failed.attempts == 1
    [record] = client.errors(job.id)
    assert (record.attempt, record.message, record.error_type) == (1, "boom", "x.Boom")
    assert client.error(job.id, 1).backtrace == "tb"
    with pytest.raises(zizq.NotFound, match="error record not found"):
        client.error(job.id, 2)
    with client.take("q") as batches:
        next(b for b in batches if b)
        assert client.nack(job.id, "again", kill=True).status == "dead"


def test_query_pages_filters_and_counts(client):
    for n in range(5):
        client.enqueue_raw(
            queue="p",
            type="even" if n % 2 == 0 else "odd",
            payload={"n": n},
            priority=n,
        )
    everything = client.jobs.filter(queue="p").page_size(2)
    assert [j.payload["n"] for j in everything] == [0, 1, 2, 3, 4]
    assert [j.payload["n"] for j in everything.order("desc").limit(3)] == [4, 3, 2]
    assert everything.filter(type="even").count() == 3
    assert everything.filter(priority=(1, 3), payload=".n != 2").count() == 2
    assert everything.filter(status=["ready", "scheduled"]).first().payload == {"n": 0}


def test_update_and_delete_one_and_many(client):
    a = client.enqueue_raw(queue="m", type="t", payload=None)
    b = client.enqueue_raw(queue="m", type="t", payload=None)
    assert client.update(a.id, priority=5, queue="n").priority == 5
    assert client.jobs.filter(queue="m").update(priority=9) == 1
    assert client.get(b.id).priority == 9
    client.delete(a.id)
    with pytest.raises(zizq.NotFound, match="job not found"):
        client.get(a.id)
    assert client.jobs.delete() == 1
    assert client.count() == 0


def test_error_statuses_raise_their_exceptions(client):
    with pytest.raises(zizq.BadRequest, match="queue must not be empty"):
        client.enqueue_raw(queue="", type="t", payload=None)
    with pytest.raises(zizq.Forbidden, match="requires a pro license"):
        client.enqueue_raw(queue="q", type="t", payload=None, unique_key="k")
    with pytest.raises(zizq.BadRequest, match="invalid filter"):
        client.count(filter="(((")
    with pytest.raises(zizq.BadRequest, match='invalid job ID: "nope"'):
        client.count(id="nope")
    job = client.enqueue_raw(queue="q", type="t", payload=None)
    with pytest.raises(zizq.Unprocessable, match="queue cannot be null"):
        client.update(job.id, queue=None)


class Urgent(zizq.Middleware):
    """Rewrites every job's priority on its way out."""

    def enqueue(self, jobs, call_next):
        return call_next([{**job, "priority": 1} for job in jobs])

    async def aenqueue(self, jobs, call_next):
        return await call_next([{**job, "priority": 2} for job in jobs])


def test_enqueue_middleware_sees_single_and_bulk_requests(zizq_server):
    with zizq.Client(url=zizq_server.url, middleware=[Urgent()]) as client:
        assert client.enqueue_raw(queue="q", type="t", payload=None).priority == 1
        [job] = client.enqueue_bulk([{"queue": "q", "type": "t", "payload": None}])
        assert job.priority == 1

    async def scenario():
        async with zizq.AsyncClient(url=zizq_server.url, middleware=[Urgent()]) as c:
            return (await c.enqueue_raw(queue="q", type="t", payload=None)).priority

    assert asyncio.run(scenario()) == 2


def test_connection_refused_raises_connection_failed():
    with zizq.Client(url="http://127.0.0.1:9", timeout=1) as client:
        with pytest.raises(zizq.ConnectionFailed):
            client.health()


def test_async_client_covers_the_same_calls(zizq_server, transport):
    fmt, http2 = transport

    async def scenario():
        async with zizq.AsyncClient(
            url=zizq_server.url, format=fmt, http2=http2
        ) as client:
            await client.reset()
            job = await client.enqueue_raw(queue="aq", type="t", payload={"x": 1})
            [other] = await client.enqueue_bulk(
                [{"queue": "aq", "type": "t", "payload": 2}]
            )
            assert (await client.get(job.id)).payload == {"x": 1}
            assert [j.id async for j in client.jobs.filter(queue="aq")] == [
                job.id,
                other.id,
            ]
            async with client.take("aq", prefetch=2) as batches:
                async for batch in batches:
                    if batch:
                        break
                await client.ack_bulk([j.id for j in batch])
            assert await client.jobs.count() == 2 - len(batch)
            assert await client.jobs.delete() == 2 - len(batch)
            with pytest.raises(zizq.NotFound):
                await client.delete(job.id)

    asyncio.run(scenario())
