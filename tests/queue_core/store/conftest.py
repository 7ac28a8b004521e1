"""Stores on a real RocksDB in a temp dir, driven by a fake clock."""

import asyncio

import pytest

from queue_core.clock import FakeClock
from queue_core.options import EngineConfig
from queue_core.store import Store


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def open_store(tmp_path, clock):
    """Open (or reopen) the store in ``tmp_path``; all are closed afterwards."""
    stores = []

    def open_(**config):
        for store in stores:
            if not store.closed:
                store.close()
        store = Store(
            str(tmp_path / "data"), EngineConfig(**config), clock=clock, rand=lambda: 0.5
        )
        store.recover()
        stores.append(store)
        return store

    yield open_
    for store in stores:
        if not store.closed:
            store.close()


@pytest.fixture
def store(open_store):
    return open_store()


def run(coro):
    """Run one coroutine on a fresh loop (each test is one scenario)."""
    return asyncio.run(coro)


async def turn():
    """Let call_soon callbacks (dispatch, flush) run."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)
