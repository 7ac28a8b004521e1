"""Views: the events that keep a dashboard's windows as the lists are now."""

import random

import pytest

from queue_core import feed as feeds
from queue_core.options import FailureRequest
from queue_core.store.patch import PatchRequest

from .conftest import req, run, turn


class Dashboard:
    """A client applying a view's events to the windows it shows."""

    def __init__(self, store, feed, anchors, limit=10):
        self.view = feeds.View(feed, limit)
        for name, anchor in anchors.items():
            self.view.subscribe(name, anchor, limit)
        self.store = store
        self.shown = {}
        self.events = []
        self.apply([self.view.snapshot(feeds.Jobs(store))])
        feed.subscribers.append(self.on_turn)

    def on_turn(self, turn):
        self.apply(self.view.changes(turn, feeds.Jobs(self.store)))

    def apply(self, events):
        self.events.extend(events)
        for event in events:
            if event["event"] == "job_snapshot":
                for name in feeds.LIST_NAMES:
                    self.shown[name] = [item["id"] for item in event[name]["items"]]
            elif event["status"].endswith("_removed"):
                self.shown[event["status"][: -len("_removed")]].remove(event["id"])
            elif event["status"] in feeds.LIST_NAMES:
                assert event["id"] not in self.shown[event["status"]]
                self.shown[event["status"]].append(event["id"])

    def expected(self, name):
        anchor, limit = self.view.subscriptions[name]
        return feeds.windows.resolve(self.view.feed.lists[name], anchor, limit).ids


ANCHORS = [
    feeds.Anchor(),
    feeds.Anchor(feeds.TAIL),
    feeds.Anchor(feeds.OFFSET, offset=5),
    feeds.Anchor(feeds.OFFSET, offset=500),
]


@pytest.mark.parametrize("seed", range(6))
def test_views_stay_equal_to_their_windows_under_random_traffic(store, clock, feed, seed):
    rng = random.Random(seed)

    async def body():
        jobs = await store.enqueue([req(priority=rng.randrange(3)) for _ in range(40)])
        around = feeds.Anchor(feeds.AROUND, job_id=jobs[20].id, fallback=feeds.TAIL)
        dashboards = [
            Dashboard(store, feed, {n: rng.choice(ANCHORS + [around]) for n in feeds.LIST_NAMES})
            for _ in range(6)
        ]
        taker = store.open_taker(None, 0, lambda: None)
        store.dispatcher.remove(taker)  # claims only when this test asks
        for _ in range(120):
            await _random_step(store, clock, rng, taker)
            await turn()
            for dashboard in dashboards:
                for name in feeds.LIST_NAMES:
                    assert sorted(dashboard.shown[name]) == sorted(dashboard.expected(name))

    run(body())


async def _random_step(store, clock, rng, taker):
    step = rng.randrange(7)
    ready = [key[1] for key in store.feed.lists["ready"].ranked]
    in_flight = list(store.dispatcher.in_flight)
    if step == 0 or not ready and not in_flight:
        count = rng.choice((1, 1, 3, 60))
        ahead = rng.choice((0, 0, 50))
        await store.enqueue(
            [req(priority=rng.randrange(3), ready_at=clock() + ahead) for _ in range(count)]
        )
    elif step == 1 and ready:
        store.dispatcher.add(taker)
        store.dispatcher.run_now()
        store.dispatcher.remove(taker)
    elif step == 2 and in_flight:
        await store.complete(rng.choice(in_flight))
    elif step == 3 and in_flight:
        await store.fail(rng.choice(in_flight), FailureRequest("x", kill=rng.random() < 0.5))
    elif step == 4 and ready:
        await store.delete(rng.choice(ready))
    elif step == 5 and ready:
        await store.patch(rng.choice(ready), PatchRequest(priority=rng.randrange(3)))
    else:
        clock.advance(60)
        await store.promote_due(1000)


def test_every_ack_and_nack_is_marked_for_every_dashboard(store, clock, feed):
    async def body():
        await store.enqueue([req() for _ in range(12)])
        narrow = Dashboard(store, feed, {}, limit=1)
        wide = Dashboard(store, feed, {}, limit=10)
        taker = store.open_taker(None, 0, lambda: None)
        await turn()
        held = list(taker.in_flight)
        for dashboard in (narrow, wide):
            dashboard.events.clear()
        await store.complete_many(held[:2] + held[-1:])
        await store.fail(held[3], FailureRequest("x", kill=True))
        await turn()
        for dashboard in (narrow, wide):
            markers = [
                (e["id"], e["status"])
                for e in dashboard.events
                if e["status"] in ("completed", "dead")
            ]
            assert markers == [
                (held[0], "completed"),
                (held[1], "completed"),
                (held[-1], "completed"),  # never shown in either window
                (held[3], "dead"),
            ]
            assert dashboard.events[0]["status"] == "completed"
            assert dashboard.events[3]["status"] == "in_flight_removed"
        assert narrow.events[0] is wide.events[0]  # one marker for both

    run(body())


def test_a_turn_of_many_changes_is_diffs_per_list_never_a_snapshot(store, clock, feed):
    async def body():
        dashboard = Dashboard(store, feed, {}, limit=50)
        dashboard.events.clear()
        await store.enqueue([req(priority=5) for _ in range(1000)])
        await store.enqueue([req(ready_at=clock() + 60) for _ in range(1000)])
        await turn()
        statuses = [e["status"] for e in dashboard.events]
        assert statuses == ["ready"] * 50 + ["scheduled"] * 50
        dashboard.events.clear()
        await store.enqueue([req(priority=1) for _ in range(1000)])
        await turn()
        statuses = [e["status"] for e in dashboard.events]
        assert statuses == ["ready_removed"] * 50 + ["ready"] * 50
        for name in feeds.LIST_NAMES:
            assert dashboard.shown[name] == dashboard.expected(name)

    run(body())


def test_removals_come_before_additions(store, feed):
    async def body():
        jobs = await store.enqueue([req(priority=5) for _ in range(3)])
        dashboard = Dashboard(store, feed, {}, limit=3)
        dashboard.events.clear()
        [first] = await store.enqueue([req(priority=1)])
        await turn()
        assert [(e["status"], e["id"]) for e in dashboard.events] == [
            ("ready_removed", jobs[2].id),
            ("ready", first.id),
        ]

    run(body())
