"""The cron calls (API.md 7.6) of the sync and asyncio clients against a
real server with a pro licence minted by the tests, in both formats over
HTTP/1.1 and h2c; and their 403 on a server without one."""

import asyncio

import pytest
import zizq_client as zizq

pytestmark = pytest.mark.slow


@zizq.job(queue="reports", type="client_tests.build_report", priority=7)
def build_report(day: str, full: bool = False) -> None:
    pass


JOB = {"queue": "reports", "type": "build", "payload": {"full": True}}


def test_put_defines_a_group_and_get_reads_it_back(pro_client):
    entries = [
        zizq.CronEntry("warehouse", "0 6 * * *", JOB, timezone="Europe/Rome"),
        zizq.CronEntry.of(build_report, "daily", "*/15 * * * *", "mon", full=True),
    ]
    put = pro_client.put_cron("default", entries)
    assert [e.name for e in put.entries] == ["warehouse", "daily"]
    assert put.paused is False and put.paused_at is None
    group = pro_client.cron("default")
    assert [e.name for e in group.entries] == ["daily", "warehouse"]
    daily = group.entry("daily")
    assert daily.job == {
        "type": "client_tests.build_report",
        "queue": "reports",
        "priority": 7,
        "payload": {"args": ["mon"], "kwargs": {"full": True}},
    }
    assert daily.next_enqueue_at % 1000 == 0 and daily.last_enqueue_at is None
    assert group.entry("warehouse").timezone == "Europe/Rome"
    assert pro_client.crons() == ["default"]


def test_a_group_read_back_can_be_put_back_keeping_its_schedule(pro_client):
    pro_client.put_cron("g", [zizq.CronEntry("e", "0 6 * * *", JOB)])
    before = pro_client.cron("g")
    again = pro_client.put_cron("g", before.entries)
    assert again.entries[0].next_enqueue_at == before.entries[0].next_enqueue_at


def test_pause_and_resume_a_group_and_an_entry(pro_client):
    pro_client.put_cron("g", [zizq.CronEntry("e", "0 6 * * *", JOB)], paused=True)
    assert pro_client.cron("g").paused_at is not None
    resumed = pro_client.resume_cron("g")
    assert resumed.paused is False and resumed.resumed_at is not None
    entry = pro_client.pause_cron("g", "e")
    assert entry.paused is True and entry.paused_at is not None
    assert pro_client.resume_cron("g", "e").paused is False


def test_entries_one_at_a_time_and_a_duplicate_is_a_conflict(pro_client):
    added = pro_client.add_cron_entry("new", zizq.CronEntry("e", "0 6 * * *", JOB))
    assert added.name == "e" and added.paused is False
    with pytest.raises(zizq.Conflict, match="cron entry 'e' already exists"):
        pro_client.add_cron_entry("new", zizq.CronEntry("e", "0 7 * * *", JOB))
    assert pro_client.cron_entry("new", "e").expression == "0 6 * * *"
    replaced = pro_client.put_cron_entry("new", zizq.CronEntry("e", "0 7 * * *", JOB))
    assert replaced.expression == "0 7 * * *"
    pro_client.delete_cron("new", "e")
    with pytest.raises(zizq.NotFound, match="cron entry 'e' not found"):
        pro_client.cron_entry("new", "e")
    assert pro_client.cron("new").entries == []


def test_delete_a_group_and_every_group(pro_client):
    for name in ("a", "b", "c"):
        pro_client.put_cron(name, [])
    pro_client.delete_cron("a")
    with pytest.raises(zizq.NotFound, match="cron group 'a' not found"):
        pro_client.cron("a")
    assert pro_client.delete_crons() == 2
    assert pro_client.crons() == []


def test_invalid_definitions_are_bad_requests(pro_client):
    with pytest.raises(zizq.BadRequest, match="invalid cron expression"):
        pro_client.put_cron("g", [zizq.CronEntry("e", "nope", JOB)])
    with pytest.raises(zizq.BadRequest, match='invalid timezone: "Mars/Base"'):
        pro_client.put_cron("g", [zizq.CronEntry("e", "* * * * *", JOB, "Mars/Base")])
    with pytest.raises(ValueError, match="delay or ready_at"):
        zizq.CronEntry.of(build_report.using(delay="1h"), "e", "* * * * *", "mon")


def test_an_entry_fires_jobs_a_worker_can_take(pro_client):
    entry = zizq.CronEntry.of(build_report, "every-second", "* * * * * *", "tue")
    pro_client.put_cron("fast", [entry])
    with pro_client.take("reports") as batches:
        [job] = next(b for b in batches if b)
    assert (job.type, job.payload) == (
        "client_tests.build_report",
        {"args": ["tue"], "kwargs": {}},
    )
    assert pro_client.cron_entry("fast", "every-second").last_enqueue_at is not None


def test_async_client_covers_the_cron_calls(pro_server, transport):
    fmt, http2 = transport

    async def scenario():
        async with zizq.AsyncClient(
            url=pro_server.url, format=fmt, http2=http2
        ) as client:
            await client.reset()
            await client.put_cron("g", [zizq.CronEntry("e", "0 6 * * *", JOB)])
            await client.add_cron_entry("g", zizq.CronEntry("f", "0 7 * * *", JOB))
            assert (await client.pause_cron("g")).paused is True
            assert (await client.cron_entry("g", "f")).expression == "0 7 * * *"
            await client.put_cron_entry("g", zizq.CronEntry("f", "0 8 * * *", JOB))
            await client.delete_cron("g", "e")
            assert [e.name for e in (await client.cron("g")).entries] == ["f"]
            assert await client.crons() == ["g"]
            assert await client.delete_crons() == 1

    asyncio.run(scenario())


def test_cron_calls_need_a_pro_licence(plain_client):
    with pytest.raises(zizq.Forbidden):
        plain_client.crons()
    with pytest.raises(zizq.Forbidden):
        plain_client.put_cron("g", [zizq.CronEntry("e", "0 6 * * *", JOB)])
