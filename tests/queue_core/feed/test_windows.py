"""Window arithmetic (ADMIN_AND_CLI.md 6.3), and windows over a real store."""

import pytest

from queue_core import feed as feeds
from queue_core.feed.windows import start_of

from .conftest import req, run, turn


@pytest.mark.parametrize(
    "anchor, position, start",
    [
        (feeds.Anchor(feeds.HEAD), None, 0),
        (feeds.Anchor(feeds.TAIL), None, 90),
        (feeds.Anchor(feeds.OFFSET, offset=7), None, 7),
        (feeds.Anchor(feeds.OFFSET, offset=95), None, 90),  # past the end: the last L
        (feeds.Anchor(feeds.AROUND, job_id="j"), 50, 45),
        (feeds.Anchor(feeds.AROUND, job_id="j"), 3, 0),
        (feeds.Anchor(feeds.AROUND, job_id="j"), 98, 90),
        (feeds.Anchor(feeds.AROUND, job_id="j", fallback=feeds.HEAD), None, 0),
        (feeds.Anchor(feeds.AROUND, job_id="j", fallback=feeds.TAIL), None, 90),
        (feeds.Anchor(feeds.AROUND, job_id="j"), None, None),  # nowhere
    ],
)
def test_window_start_of_each_anchor(anchor, position, start):
    assert start_of(anchor, 10, 100, position) == start


def test_window_start_when_the_list_is_shorter_than_the_limit():
    assert start_of(feeds.Anchor(feeds.TAIL), 10, 4) == 0
    assert start_of(feeds.Anchor(feeds.OFFSET, offset=3), 10, 4) == 0
    assert start_of(feeds.Anchor(feeds.AROUND, job_id="j"), 10, 4, 3) == 0


def test_windows_follow_each_lists_order(store, clock, feed):
    async def body():
        jobs = await store.enqueue(
            [req(priority=p) for p in (3, 1, 2)]
            + [req(ready_at=clock() + d) for d in (300, 100, 200)]
        )
        await turn()
        ready = feed.lists[feeds.READY_LIST]
        scheduled = feed.lists[feeds.SCHEDULED_LIST]
        head = feeds.windows.resolve(ready, feeds.Anchor(), 10)
        assert head.ids == [jobs[1].id, jobs[2].id, jobs[0].id]
        assert (head.first_position, head.total) == (0, 3)
        soon = feeds.windows.resolve(scheduled, feeds.Anchor(feeds.TAIL), 2)
        assert soon.ids == [jobs[5].id, jobs[3].id] and soon.first_position == 1
        around = feeds.windows.resolve(ready, feeds.Anchor(feeds.AROUND, job_id=jobs[0].id), 1)
        assert around.ids == [jobs[0].id] and around.resolved_anchor == jobs[0].id
        empty = feeds.windows.resolve(feed.lists[feeds.IN_FLIGHT_LIST], feeds.Anchor(), 5)
        assert empty == feeds.Window([], 0, 0)

    run(body())


def test_a_window_over_a_long_list_is_the_same_run_of_keys(store, clock, feed):
    async def body():
        jobs = await store.enqueue([req() for _ in range(5000)])
        await turn()
        ready = feed.lists[feeds.READY_LIST]
        win = feeds.windows.resolve(ready, feeds.Anchor(feeds.OFFSET, offset=4321), 3)
        assert win.ids == [j.id for j in jobs[4321:4324]]
        assert ready.position(jobs[4999].id) == 4999

    run(body())
