"""A real store with a fake clock, a feed attached, and a helper to drive it."""

import pytest

from queue_core import feed as feeds
from queue_core.options import EnqueueRequest

from ..store.conftest import clock, open_store, run, store, turn  # noqa: F401


def req(queue="q", priority=32768, type_="t", **fields):
    return EnqueueRequest(type_, queue, b'{"n":1}', priority=priority, **fields)


class Recorder:
    """A feed subscriber keeping every turn it is handed."""

    def __init__(self):
        self.turns = []

    def __call__(self, feed_turn):
        self.turns.append(feed_turn)


async def attached(store):  # noqa: F811 (a store, not the fixture)
    """The store's feed, once it is live."""
    feed = feeds.attach(store)
    await feed.ready()
    return feed


@pytest.fixture
def feed(store):  # noqa: F811 (the store fixture, imported above)
    yield run(attached(store))
    feeds.detach(store)


@pytest.fixture(scope="session")
def small_chunks():
    """Small chunks, so that a few hundred keys split, merge and cross them."""
    from queue_core.feed import ranked

    saved = ranked.LOAD
    ranked.LOAD = 8
    yield
    ranked.LOAD = saved


@pytest.fixture
def small_slices(small_chunks):
    """Builds of a hundred keys a step (and chunks of eight), so a few
    thousand jobs take many loop turns to build."""
    from queue_core.feed import feed, lists

    saved = lists.SLICE, feed.SLICE_S, feed.CATCH_UP
    lists.SLICE, feed.SLICE_S, feed.CATCH_UP = 100, 0.0, 50
    yield
    lists.SLICE, feed.SLICE_S, feed.CATCH_UP = saved
