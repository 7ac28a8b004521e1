"""Declaring and enqueueing jobs, with the buffering fake client
(``zizq_jobs``): the parameters sent, unique keys, bulk, middleware, and
draining through the real dispatcher; plus the stream frame decoders."""

import msgpack
import pytest

import zizq_client as zizq
from zizq_client.codec import MsgpackFrames, NdjsonFrames

calls = []


@zizq.job(
    queue="emails",
    priority=100,
    retry_limit=2,
    backoff=zizq.Backoff(base="10s", exponent=2, jitter="1s"),
    retention=zizq.Retention(completed="2d", dead="30d"),
)
def send(user_id: int, template: str = "welcome") -> None:
    calls.append(("send", user_id, template, zizq.current_job().queue))
    if template == "chain":
        send.enqueue(user_id + 1, template="last")


@zizq.job(type="unique.Digest", unique=zizq.Unique(while_="active", key=("user_id",)))
async def digest(user_id: int, day: str) -> None:
    calls.append(("digest", user_id, day))


def test_params_carry_the_declared_options():
    params = send.using(delay="1h").params(7, template="x")
    assert params.pop("ready_at") > 0
    assert params == {
        "queue": "emails",
        "type": "tests.client.test_jobs.send",
        "payload": {"args": [7], "kwargs": {"template": "x"}},
        "priority": 100,
        "retry_limit": 2,
        "backoff": {"exponent": 2.0, "base_ms": 10_000, "jitter_ms": 1000},
        "retention": {"completed_ms": 172_800_000, "dead_ms": 2_592_000_000},
    }


def test_unique_key_covers_only_the_named_arguments():
    one = digest.params(1, "mon")
    assert one["unique_while"] == "active"
    assert one["unique_key"] == digest.params(1, day="tue")["unique_key"]
    assert one["unique_key"] != digest.params(2, "mon")["unique_key"]
    assert one["unique_key"].startswith("unique.Digest:")


def test_enqueue_buffers_in_the_fake_and_drain_runs_recursively(zizq_jobs):
    calls.clear()
    send.enqueue(1, template="chain")
    with zizq.bulk() as batch:
        batch.add(digest, 5, "mon")
        batch.add_raw(queue="other", type="Elsewhere", payload={"x": 1})
    assert [j.type for j in zizq_jobs.enqueued()] == [
        "tests.client.test_jobs.send",
        "unique.Digest",
        "Elsewhere",
    ]
    assert zizq_jobs.enqueued(send, 1)
    assert not zizq_jobs.enqueued(send, 2)
    assert zizq_jobs.enqueued(digest, day="mon")
    with pytest.raises(zizq.UnknownJobType):
        zizq_jobs.drain()
    zizq_jobs.clear()
    calls.clear()
    send.enqueue(1, template="chain")
    digest.enqueue(5, "mon")
    assert len(zizq_jobs.drain()) == 3
    assert calls == [
        ("send", 1, "chain", "emails"),
        ("digest", 5, "mon"),
        ("send", 2, "last", "emails"),
    ]


def test_non_recursive_drain_leaves_new_jobs_buffered(zizq_jobs):
    send.enqueue(1, template="chain")
    zizq_jobs.drain(recursive=False)
    assert [j.payload["args"] for j in zizq_jobs.enqueued(send)] == [[2]]


def test_drain_stops_a_job_that_keeps_enqueueing(zizq_jobs):
    @zizq.job(type="tests.loop")
    def again() -> None:
        again.enqueue()

    again.enqueue()
    with pytest.raises(RuntimeError, match="after 5 jobs"):
        zizq_jobs.drain(max_iterations=5)


def test_fake_refuses_reads(zizq_jobs):
    with pytest.raises(zizq.NotSupported):
        zizq_jobs.get("x")


def test_middleware_wraps_enqueue_and_dispatch(zizq_jobs):
    seen = []

    class Tag(zizq.Middleware):
        def dispatch(self, job, call_next):
            seen.append(("before", job.type))
            result = call_next(job)
            seen.append(("after", job.type))
            return result

    zizq_jobs.middleware.append(Tag())
    send.enqueue(3)
    zizq_jobs.drain()
    assert seen == [("before", send.type_name), ("after", send.type_name)]


def test_frame_decoders_split_any_chunking_and_skip_heartbeats():
    jobs = [{"id": str(n), "payload": "x" * n} for n in range(5)]
    stream = (
        b"".join(len(p).to_bytes(4, "big") + p for p in map(msgpack.packb, jobs))
        + b"\0\0\0\0"
    )
    frames = MsgpackFrames()
    got = [j for i in range(0, len(stream), 3) for j in frames.feed(stream[i : i + 3])]
    assert got == jobs
    ndjson = NdjsonFrames()
    assert ndjson.feed(b'{"id":"a"}\n\n{"id"') == [{"id": "a"}]
    assert ndjson.feed(b':"b"}\n') == [{"id": "b"}]


def test_durations_read_the_usual_spellings():
    from zizq_client.models import to_ms

    assert [to_ms(v) for v in ("250ms", "30s", "5m", "2h", "1d", 1.5)] == [
        250,
        30_000,
        300_000,
        7_200_000,
        86_400_000,
        1500,
    ]
    with pytest.raises(ValueError):
        to_ms("soon")
