"""pytest fixtures of the Zizq client, loaded through its ``pytest11``
entry point.

``zizq_jobs`` makes a ``FakeClient`` the default client of ``enqueue()``
for one test. ``zizq_server`` is one real server per test module (booting
one costs a second or two, so the tests of a module share it).
"""

import pytest


@pytest.fixture
def zizq_jobs():
    """A buffering fake client behind ``job.enqueue()`` and ``bulk()``."""
    from ..jobs import override_clients
    from .fake import FakeClient

    fake = FakeClient()
    previous = override_clients((fake, fake.aio))
    yield fake
    override_clients(previous)


@pytest.fixture(scope="module")
def zizq_server():
    """A real ``zizq serve`` on port 0, shared by the tests of a module."""
    from .server import ZizqServer

    with ZizqServer() as server:
        yield server
