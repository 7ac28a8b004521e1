"""The feed: what each store operation files and what its turn says."""

import asyncio

from queue_core import feed as feeds
from queue_core.feed import feed as feed_module
from queue_core.options import FailureRequest
from queue_core.store import enqueue
from queue_core.store.patch import PatchRequest

from .conftest import Recorder, attached, req, run, turn


def members(feed, name):
    return [key[1] for key in feed.lists[name].ranked]


class Taken:
    def __init__(self, store, prefetch=0):
        self.taker = store.open_taker(None, prefetch, lambda: None)


def test_feed_is_built_from_the_store_as_it_is(store, clock):
    async def body():
        jobs = await store.enqueue([req(priority=2), req(priority=1), req(ready_at=clock() + 5)])
        Taken(store, prefetch=1)
        await turn()
        feed = await attached(store)
        assert members(feed, "ready") == [jobs[0].id]
        assert members(feed, "in_flight") == [jobs[1].id]
        assert members(feed, "scheduled") == [jobs[2].id]
        assert feeds.attach(store) is feed
        feeds.detach(store)
        assert store.feed is None

    run(body())


def test_a_build_in_slices_keeps_every_change_made_meanwhile(
    store, clock, small_slices
):
    """Thousands of jobs built a few hundred at a time while jobs are
    enqueued, taken, acked, failed, promoted and deleted between the
    slices: the live lists are the indexes' as they are now."""

    async def body():
        await store.enqueue([req(priority=n % 4) for n in range(1500)])
        await store.enqueue([req(ready_at=clock() + n % 50) for n in range(700)])
        taker = Taken(store, prefetch=300).taker
        await turn()
        feed = feeds.attach(store)
        steps = 0
        while not feed.live:
            await _meanwhile(store, clock, taker, steps)
            await asyncio.sleep(0)
            steps += 1
        assert steps > 3  # built across loop turns, changes in between
        await turn()
        assert members(feed, "ready") == [k[1] for k in store.ready.ordered()]
        assert members(feed, "scheduled") == [k[1] for k in store.scheduled.ordered()]
        in_flight = sorted((job.dequeued_at, job.id) for job in taker.in_flight.values())
        assert members(feed, "in_flight") == [k[1] for k in in_flight]
        for job_list in feed.lists.values():
            for key in job_list.ranked:
                assert job_list.key(key[1]) == key

    run(body())


async def _meanwhile(store, clock, taker, step):
    """A few operations of every kind while the feed is being built."""
    held = list(taker.in_flight)
    if step % 5 == 0:
        await store.enqueue([req(priority=step % 3) for _ in range(40)])
    elif step % 5 == 1 and held:
        await store.complete_many(held[:5])
    elif step % 5 == 2 and held:
        await store.fail(held[0], FailureRequest("x", kill=step % 2 == 0))
    elif step % 5 == 3:
        ready = store.ready.ordered()
        if len(ready) > 1:
            await store.delete(ready[-1][1])
            await store.patch(ready[0][1], PatchRequest(priority=9))
    else:
        clock.advance(3)
        await store.promote_due(1000)


def test_a_feed_dropped_while_building_stops_its_build(store, monkeypatch):
    # A build pauses after every step here: on an idle machine 3,000 jobs
    # take less than one slice, and the build would be over before detach.
    monkeypatch.setattr(feed_module, "SLICE_S", -1.0)

    async def body():
        await store.enqueue([req() for _ in range(3000)])
        feed = feeds.attach(store)
        await asyncio.sleep(0)
        feeds.detach(store)
        await asyncio.sleep(0)
        assert feed.building.cancelled() and store.feed is None
        assert not feed.live

    run(body())


def test_each_operation_files_the_job_and_names_its_steps(store, clock, feed):
    recorder = Recorder()
    feed.subscribers.append(recorder)

    async def body():
        [job] = await store.enqueue([req()])
        await turn()
        assert recorder.turns[-1].steps == ["ready", "in_flight", "scheduled"]
        Taken(store, prefetch=1)
        await turn()
        last = recorder.turns[-1]
        assert last.steps == ["in_flight", "ready"] and members(feed, "in_flight") == [job.id]
        await store.fail(job.id, FailureRequest("boom"))
        await turn()
        last = recorder.turns[-1]
        assert last.markers == [(job.id, "dead")]  # a retry is marked dead too
        assert last.steps == ["markers", "in_flight", "scheduled"]
        assert members(feed, "scheduled") == [job.id] and members(feed, "in_flight") == []
        seen = len(recorder.turns)
        await store.patch(job.id, PatchRequest(ready_at=None))
        await turn()
        assert recorder.turns[seen].patched  # then the dispatcher hands it out
        assert members(feed, "in_flight") == [job.id]
        await store.complete(job.id)
        await turn()
        acked = [t for t in recorder.turns if t.markers][-1]
        assert acked.markers == [(job.id, "completed")]
        assert acked.steps[:2] == ["markers", "in_flight"]
        assert all(members(feed, name) == [] for name in feeds.LIST_NAMES)

    run(body())


def test_delete_and_a_killed_job_leave_every_list(store, clock, feed):
    recorder = Recorder()
    feed.subscribers.append(recorder)

    async def body():
        later, ready = await store.enqueue([req(ready_at=clock() + 9), req()])
        await store.delete(later.id)
        await turn()
        assert members(feed, "scheduled") == []
        Taken(store)
        await turn()
        await store.fail(ready.id, FailureRequest("x", kill=True))
        await turn()
        assert recorder.turns[-1].markers == [(ready.id, "dead")]
        assert all(members(feed, name) == [] for name in feeds.LIST_NAMES)

    run(body())


def test_a_turn_files_a_bulk_as_one_run_and_notes_its_lowest_key(store, feed):
    recorder = Recorder()
    feed.subscribers.append(recorder)

    async def body():
        first = enqueue.apply(store, [req() for _ in range(3000)], store.clock())
        second = enqueue.apply(
            store, [req(priority=1)] + [req() for _ in range(10)], store.clock()
        )
        await turn()
        assert len(recorder.turns) == 1  # one turn for both
        assert recorder.turns[0].low["ready"] == (1, second[0].id, "q")
        order = [second[0].id] + [j.id for j in first] + [j.id for j in second[1:]]
        assert members(feed, "ready") == order

    run(body())


def test_promotion_and_requeue_return_jobs_to_ready(store, clock, feed):
    async def body():
        [job] = await store.enqueue([req(ready_at=clock() + 10)])
        clock.advance(10)
        await store.promote_due(100)
        await turn()
        assert members(feed, "ready") == [job.id] and members(feed, "scheduled") == []
        taken = Taken(store)
        await turn()
        assert members(feed, "in_flight") == [job.id]
        store.close_taker(taken.taker)
        await turn()
        assert members(feed, "ready") == [job.id] and members(feed, "in_flight") == []

    run(body())


def test_without_a_loop_changes_wait_for_flush(store, feed):
    recorder = Recorder()
    feed.subscribers.append(recorder)
    enqueue.apply(store, [req()], store.clock())
    assert recorder.turns == [] and len(feed.lists["ready"]) == 0
    feed.flush()
    assert len(recorder.turns) == 1 and len(feed.lists["ready"]) == 1
