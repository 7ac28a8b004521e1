"""How admin views, which Django runs in a thread, reach the store.

The store has one owner, the server's event loop (DESIGN.md section 6):
a view never calls a store method from its own thread. ``call`` schedules
a coroutine function on the loop and waits for its result in the view's
thread, so a synchronous part (``store.get``) and an awaited one
(``store.list_jobs``) both run on the loop, between other requests. The
loop is the one the admin's ASGI app first ran on (``attach``), or a test's.
This is what asgiref's ``async_to_sync`` does inside Django's ASGI handler,
with the loop named instead of found, so that Django's test client, which
runs views in the test's own thread, reaches the same store.
"""

import asyncio

_loop = None


def attach(loop) -> None:
    """Make ``loop`` (the store's owner) the one views call into."""
    global _loop
    _loop = loop


def call(function, *args):
    """``await function(*args)`` on the store's loop; its result or exception."""
    if _loop is None:
        raise RuntimeError("the admin is not attached to a running store")
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is _loop:
        raise RuntimeError("bridge.call from the store's own loop would deadlock")
    return asyncio.run_coroutine_threadsafe(function(*args), _loop).result()
