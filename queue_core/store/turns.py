"""Deferring work to the end of the current event-loop turn.

The group commit and the dispatcher both coalesce a burst of requests into
one pass by running it once the loop turn ends. Outside a running loop
(engine tests, start-up recovery) there is no turn to wait for, so the
work runs at once (the fsync pipeline of the keyspace likewise needs a
running loop, and asks ``running_loop``).
"""

import asyncio


def running_loop():
    """The running event loop, or None outside one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def at_turn_end(callback) -> bool:
    """Call ``callback`` when this loop turn ends, or now without a loop.

    Returns True when the call was deferred.
    """
    loop = running_loop()
    if loop is None:
        callback()
        return False
    loop.call_soon(callback)
    return True
