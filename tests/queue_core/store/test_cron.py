"""Cron groups and entries in the store: definitions, firing, persistence.

A fake clock drives every test; firing is called as the scheduler calls
it, and the scheduler loop itself is woken through ``crons.changed``
rather than by waiting for real time.
"""

import asyncio
import logging
import struct

import pytest

from queue_core import codec
from queue_core.background import cron as cron_loop
from queue_core.cron import EntryDefinition
from queue_core.defaults import CRON_MERGE_FIRE_RECORDS
from queue_core.errors import Conflict, NotFound
from queue_core.options import EnqueueRequest
from queue_core.store import cron_fire
from queue_core.store.keyspace import prefix_end
from queue_core.types import READY

from .conftest import run

# FakeClock's start, 2026-02-02T02:40:00Z, is a whole minute.
START = 1_770_000_000_000


def job(**fields):
    return EnqueueRequest("tick", "q", b'{"n":1}', **fields)


def entry(name="e", expression="* * * * *", paused=None, timezone="UTC", **job_fields):
    return EntryDefinition(name, expression, timezone, paused, job(**job_fields))


def fire(store, limit=1000):
    """``(group, entry, next_enqueue_at)`` of each entry that enqueued."""
    return fired(run(store.crons.fire_due(limit)))


def fired(runs):
    return [
        (*key.split("\0"), next_at) for next_at, keys in runs for key in keys
    ]


def jobs_of(store):
    store.ks.flush()
    return [codec.decode_job(k[1:].decode(), v) for k, v in store.ks.scan(b"J", b"K")]


def test_put_group_schedules_entries_in_request_order(store):
    group = run(store.crons.put_group("g", None, [entry("b"), entry("a", "0 * * * *")]))
    assert list(group.entries) == ["b", "a"]
    assert group.paused is False and group.paused_at is None
    b, a = group.entries.values()
    assert b.next_enqueue_at == START + 60_000
    assert a.next_enqueue_at == START + 20 * 60_000
    assert store.crons.names() == ["g"]
    assert list(store.crons.group("g").entries) == ["b", "a"]


def test_a_repeated_put_keeps_the_schedule_and_a_new_expression_resets_it(store, clock):
    run(store.crons.put_group("g", None, [entry("e"), entry("f")]))
    clock.advance(60_000)
    fire(store)
    clock.advance(30_000)
    group = run(
        store.crons.put_group("g", None, [entry("e"), entry("f", "*/5 * * * *")])
    )
    e, f = group.entries["e"], group.entries["f"]
    assert (e.next_enqueue_at, e.last_enqueue_at) == (START + 120_000, START + 60_000)
    assert (f.next_enqueue_at, f.last_enqueue_at) == (START + 300_000, START + 60_000)


def test_put_deletes_the_entries_it_does_not_name(store, clock):
    run(store.crons.put_group("g", None, [entry("e"), entry("f")]))
    group = run(store.crons.put_group("g", None, [entry("f")]))
    assert list(group.entries) == ["f"]
    assert list(store.crons.group("g").entries) == ["f"]
    clock.advance(60_000)
    assert fire(store) == [("g", "f", START + 120_000)]


def test_pause_bookkeeping_of_groups_and_entries(store, clock):
    group = run(store.crons.put_group("g", True, [entry("e", paused=True)]))
    assert (group.paused, group.paused_at, group.resumed_at) == (True, START, None)
    e = group.entries["e"]
    assert (e.paused, e.paused_at) == (True, START)
    clock.advance(1000)
    group = run(store.crons.patch_group("g", False))
    assert (group.paused, group.paused_at, group.resumed_at) == (
        False,
        START,
        START + 1000,
    )
    clock.advance(1000)
    run(store.crons.patch_group("g", False))  # the current value: nothing changes
    assert store.crons.group("g").resumed_at == START + 1000
    # An omitted ``paused`` keeps what is stored, for the group and its entry.
    group = run(store.crons.put_group("g", None, [entry("e")]))
    assert group.paused is False and group.entries["e"].paused is True
    e = run(store.crons.patch_entry("g", "e", False))
    assert (e.paused, e.paused_at, e.resumed_at) == (False, START, START + 2000)


def test_due_entries_fire_one_job_each_and_move_on(store, clock):
    run(
        store.crons.put_group(
            "g", None, [entry("e", priority=7), entry("h", "0 * * * *")]
        )
    )
    assert fire(store) == []
    clock.advance(60_000 + 3)
    assert fire(store) == [("g", "e", START + 120_000)]
    (fired,) = jobs_of(store)
    assert (fired.type, fired.queue, fired.priority, fired.status) == (
        "tick",
        "q",
        7,
        READY,
    )
    assert fired.ready_at == START + 60_003
    e = store.crons.entry("g", "e")
    assert (e.last_enqueue_at, e.next_enqueue_at) == (START + 60_003, START + 120_000)
    assert store.totals.enqueued == 1


def test_an_overdue_entry_fires_once_without_back_fill(store, clock):
    run(store.crons.put_group("g", None, [entry("e")]))
    clock.advance(10 * 60_000 + 500)
    assert fire(store) == [("g", "e", START + 11 * 60_000)]
    assert fire(store) == []
    assert len(jobs_of(store)) == 1


def test_paused_groups_and_entries_keep_time_but_enqueue_nothing(store, clock):
    run(store.crons.put_group("g", True, [entry("e")]))
    run(store.crons.put_group("h", None, [entry("e", paused=True), entry("f")]))
    clock.advance(60_000)
    assert fire(store) == [("h", "f", START + 120_000)]
    assert store.crons.entry("g", "e").next_enqueue_at == START + 120_000
    assert store.crons.entry("g", "e").last_enqueue_at is None
    assert store.crons.entry("h", "e").next_enqueue_at == START + 120_000
    assert len(jobs_of(store)) == 1


def test_an_entry_changed_or_re_created_fires_once_at_its_new_time(store, clock):
    """The index keeps the old keys (cron.due); a pass skips them."""
    run(store.crons.put_group("g", None, [entry("moved"), entry("again")]))
    run(store.crons.put_entry("g", "moved", entry("moved", "*/2 * * * *")))
    run(store.crons.delete_entry("g", "again"))
    run(store.crons.add_entry("g", entry("again")))  # the same next occurrence
    clock.advance(60_000)
    assert fire(store) == [("g", "again", START + 120_000)]
    assert fire(store) == []
    clock.advance(60_000)
    assert sorted(fire(store)) == [
        ("g", "again", START + 180_000),
        ("g", "moved", START + 240_000),
    ]
    assert len(jobs_of(store)) == 3


def test_firing_comes_in_passes_of_the_limit(store, clock):
    run(store.crons.put_group("g", None, [entry(f"e{i}") for i in range(5)]))
    clock.advance(60_000)
    assert [e for _, e, _ in fire(store, limit=3)] == ["e0", "e1", "e2"]
    assert [e for _, e, _ in fire(store, limit=3)] == ["e3", "e4"]


def test_groups_entries_and_schedule_survive_a_reopen(open_store, clock):
    store = open_store()
    run(
        store.crons.put_group(
            "g", True, [entry("e", "0 * * * *", timezone="Europe/Rome")]
        )
    )
    run(store.crons.put_group("h", None, [entry("e", retry_limit=3)]))
    clock.advance(60_000)
    fire(store)
    store = open_store()
    assert store.crons.names() == ["g", "h"]
    assert store.crons.entry_count() == 2
    g = store.crons.group("g")
    assert g.paused and g.entries["e"].timezone == "Europe/Rome"
    h = store.crons.entry("h", "e")
    assert h.job == job(retry_limit=3)
    assert (h.last_enqueue_at, h.next_enqueue_at) == (START + 60_000, START + 120_000)
    assert len(jobs_of(store)) == 1
    clock.advance(60_000)
    assert fire(store) == [("h", "e", START + 180_000)]


def test_a_fired_job_and_its_entry_land_in_one_write(open_store, clock):
    """A crash after the write holds both; before it, neither."""
    store = open_store()
    run(store.crons.put_group("g", None, [entry("e")]))
    clock.advance(60_000)
    cron_fire.fire_due(store.crons, clock(), 10)
    pending = store.ks.pending_writes()
    assert any(k.startswith(b"F") for k in pending) and any(
        k.startswith(b"J") for k in pending
    )
    store.ks.flush()
    store = open_store()
    assert store.crons.entry("g", "e").last_enqueue_at == START + 60_000
    assert len(jobs_of(store)) == 1


def records(store, tag: bytes) -> dict:
    store.ks.flush()
    return dict(store.ks.scan(tag, prefix_end(tag)))


def schedule(store, group="g", name="e"):
    e = store.crons.entry(group, name)
    return e.last_enqueue_at, e.next_enqueue_at


def test_passes_write_fire_records_and_a_reopen_replays_them(open_store, clock):
    store = open_store()
    run(
        store.crons.put_group(
            "g", None, [entry("e"), entry("p", paused=True), entry("h", "0 * * * *")]
        )
    )
    saved = records(store, b"S")
    for _ in range(3):
        clock.advance(60_000)
        fire(store)
    assert records(store, b"S") == saved  # firing rewrote no schedule record
    assert len(records(store, b"F")) == 3
    before = {name: schedule(store, "g", name) for name in ("e", "p", "h")}
    store = open_store()
    assert {name: schedule(store, "g", name) for name in ("e", "p", "h")} == before
    assert before["e"] == (START + 180_000, START + 240_000)
    assert before["p"] == (None, START + 240_000)  # moved, never enqueued
    assert fire(store) == []  # nothing fires twice
    clock.advance(60_000)
    assert fire(store) == [("g", "e", START + 300_000)]


def test_a_change_after_a_pass_is_not_undone_on_reopen(open_store, clock):
    store = open_store()
    run(store.crons.put_group("g", None, [entry("e"), entry("f"), entry("d")]))
    clock.advance(60_000)
    fire(store)
    clock.advance(1_000)
    run(store.crons.patch_entry("g", "e", True))
    run(store.crons.put_entry("g", "f", entry("f", "0 * * * *")))
    run(store.crons.delete_entry("g", "d"))
    run(store.crons.add_entry("g", entry("d")))
    store = open_store()
    e = store.crons.entry("g", "e")
    assert e.paused and e.paused_at == START + 61_000
    assert schedule(store, "g", "e") == (START + 60_000, START + 120_000)
    # a new expression is scheduled afresh; the last enqueue is kept
    assert schedule(store, "g", "f") == (START + 60_000, START + 20 * 60_000)
    assert schedule(store, "g", "d") == (None, START + 120_000)  # a new entry


def test_fire_records_merge_into_one_and_the_count_outlives_them(open_store, clock):
    store = open_store()
    run(store.crons.put_group("g", None, [entry("e", "* * * * * *"), entry("f")]))
    for _ in range(CRON_MERGE_FIRE_RECORDS + 2):
        clock.advance(1_000)
        fire(store)
    assert len(records(store, b"F")) == 3  # the merged record and two passes
    before = schedule(store, "g", "e"), schedule(store, "g", "f")
    assert before[0][0] == clock()
    store = open_store()
    assert (schedule(store, "g", "e"), schedule(store, "g", "f")) == before
    # With every fire record gone, the schedule records keep the count, so
    # the passes after a restart are still newer than what was saved before.
    run(store.crons.delete_all())
    assert records(store, b"F") == {}
    run(store.crons.put_group("g", None, [entry("e", "* * * * * *")]))
    store = open_store()
    clock.advance(1_000)
    fire(store)
    store = open_store()
    assert schedule(store) == (clock(), clock() + 1_000)


def test_a_schedule_record_without_a_count_still_loads(open_store, clock):
    """Stores written before fire records hold next and last alone."""
    store = open_store()
    run(store.crons.put_group("g", None, [entry("e")]))
    store.ks.put(b"S" + b"g\x00e", struct.pack(">QQ", START + 120_000, START + 60_000))
    store.ks.flush()
    store = open_store()
    assert schedule(store) == (START + 60_000, START + 120_000)
    clock.advance(120_000)
    assert fire(store) == [("g", "e", START + 180_000)]
    store = open_store()
    assert schedule(store) == (START + 120_000, START + 180_000)


def test_add_entry_creates_the_group_and_refuses_a_taken_name(store):
    e = run(store.crons.add_entry("g", entry("e", paused=True)))
    assert (e.paused, e.paused_at) == (True, None)
    assert store.crons.group("g").paused is False
    with pytest.raises(Conflict) as caught:
        run(store.crons.add_entry("g", entry("e", "0 0 * * *")))
    assert caught.value.message == "cron entry 'e' already exists in group 'g'"
    assert store.crons.entry("g", "e").expression == "* * * * *"


def test_put_entry_uses_the_path_name_and_merges(store, clock):
    e = run(store.crons.put_entry("g", "path", entry("body")))
    assert e.name == "path" and list(store.crons.group("g").entries) == ["path"]
    clock.advance(30_000)
    e = run(store.crons.put_entry("g", "path", entry("body", priority=1)))
    assert e.next_enqueue_at == START + 60_000 and e.job.priority == 1


def test_missing_groups_and_entries_are_not_found(store):
    with pytest.raises(NotFound, match="cron group 'g' not found"):
        store.crons.group("g")
    with pytest.raises(NotFound, match="cron entry 'e' not found in group 'g'"):
        store.crons.entry("g", "e")
    run(store.crons.put_group("g", None, []))
    with pytest.raises(NotFound, match="cron entry 'e' not found in group 'g'"):
        run(store.crons.patch_entry("g", "e", True))
    with pytest.raises(NotFound):
        run(store.crons.delete_group("nope"))


def test_deleting_entries_groups_and_everything(open_store, clock):
    store = open_store()
    run(store.crons.put_group("g", None, [entry("e"), entry("f")]))
    run(store.crons.put_group("h", None, [entry("e")]))
    run(store.crons.delete_entry("g", "e"))
    run(store.crons.delete_entry("g", "f"))
    assert store.crons.group("g").entries == {}  # the empty group stays
    run(store.crons.delete_group("h"))
    assert store.crons.names() == ["g"]
    clock.advance(60_000)
    assert fire(store) == [] and jobs_of(store) == []
    assert store.crons.due.peek() is None  # the deleted entries' keys went
    run(store.crons.put_group("i", None, [entry("e")]))
    assert run(store.crons.delete_all()) == 2
    assert store.crons.due.peek() is None  # no key is left till its time
    assert run(store.crons.delete_all()) == 0
    store = open_store()
    assert store.crons.names() == [] and store.crons.entry_count() == 0


def test_reset_wipes_cron_groups_and_jobs(store, clock):
    run(store.crons.put_group("g", None, [entry("e")]))
    clock.advance(60_000)
    fire(store)
    run(store.reset())
    assert store.crons.names() == [] and jobs_of(store) == []


def test_the_scheduler_idles_without_a_licence_and_fires_once_when_it_returns(
    store, clock, caplog
):
    caplog.set_level(logging.INFO, logger="zizq.cron")
    licence = {"on": False}
    asked = []

    def licensed(feature):
        asked.append(feature)
        return licence["on"]

    logged = []

    def log_info(logger, message, many):
        logged.extend((logger.name, message, fields) for fields in many)

    async def body():
        await store.crons.put_group("g", None, [entry("e")])
        shutdown = asyncio.Event()
        task = asyncio.ensure_future(cron_loop.run(store, licensed, shutdown, log_info))
        clock.advance(5 * 60_000)
        for _ in range(3):
            await _wake(store)
        assert store.crons.entry("g", "e").last_enqueue_at is None
        licence["on"] = True
        await _wake(store)
        assert store.crons.entry("g", "e").last_enqueue_at == START + 5 * 60_000
        await _wake(store)
        shutdown.set()
        await _wake(store)
        await asyncio.wait_for(task, 1)

    run(body())
    assert set(asked) == {"cron scheduling"}
    assert len(jobs_of(store)) == 1
    fields = {"group": "g", "entry": "e", "next_enqueue_at": f"Some({START + 360_000})"}
    assert logged == [("zizq.cron", "cron job enqueued", fields)]


async def _wake(store):
    store.crons.changed.set()
    for _ in range(5):
        await asyncio.sleep(0)
