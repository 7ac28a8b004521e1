"""The admin wired to a real store in a temp dir, for Django's test client.

The store runs on an event loop in a thread of its own, as it runs on the
server's loop; the admin's views (run by the test client in the test's
thread) reach it through ``bridge``, exactly as under ``serve``. Users and
sessions are in the temp dir's SQLite database, migrated by
``database.prepare`` as ``serve`` does. One store per module: tests tell
their jobs apart by queue.
"""

import asyncio
import threading
from types import SimpleNamespace

import pytest

from queue_core.options import EnqueueRequest, FailureRequest
from queue_core.store import Store
from zizq_server.admin_ui import bridge, database
from zizq_server.runtime import runtime


class Live(SimpleNamespace):
    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def enqueue(self, queue, count=1, **fields):
        fields.setdefault("payload", b'{"n":1}')
        kind = fields.pop("type", "send")
        requests = [EnqueueRequest(kind, queue, **fields) for _ in range(count)]
        return self.run(self.store.enqueue(requests))

    def dead_job(self, queue, message="boom\nline two", backtrace="at x.py:1"):
        """A job taken and failed with kill: dead, with one error record."""
        (job,) = self.enqueue(queue)

        async def take_and_kill():
            taken = []
            taker = self.store.open_taker([queue], 0, lambda: None)
            for _ in range(100):
                taken.extend(taker.outbox)
                taker.outbox.clear()
                if any(j.id == job.id for j in taken):
                    break
                await asyncio.sleep(0.01)
            request = FailureRequest(message, "RuntimeError", backtrace, kill=True)
            await self.store.fail(job.id, request)
            self.store.close_taker(taker)

        self.run(take_and_kill())
        return job


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()  # the test client's response.context
    root = tmp_path_factory.mktemp("admin")
    database.prepare(str(root))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def open_store():
        store = Store(str(root / "data"))
        store.recover()
        return store

    store = asyncio.run_coroutine_threadsafe(open_store(), loop).result()
    runtime.configure(store, 3_000)
    bridge.attach(loop)
    yield Live(store=store, loop=loop)
    bridge.attach(None)

    async def close():
        store.close()

    asyncio.run_coroutine_threadsafe(close(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    teardown_test_environment()


def _user(name, *permissions, superuser=False):
    from django.contrib.auth.models import Permission, User

    user = User.objects.filter(username=name).first()
    if user is None:
        user = User.objects.create_user(name, is_staff=True)  # force_login only
        user.is_superuser = superuser
        user.save()
        for codename in permissions:
            user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def admin_client(live):
    from django.test import Client

    client = Client()
    client.force_login(_user("root", superuser=True))
    return client


@pytest.fixture
def viewer_client(live):
    from django.test import Client

    client = Client()
    client.force_login(_user("viewer", "view_job"))
    return client
