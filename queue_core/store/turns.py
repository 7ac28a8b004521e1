"""Deferring work to the end of the current event-loop turn.

The group commit and the dispatcher both coalesce a burst of requests into
one pass by running it once the loop turn ends. Outside a running loop
(engine tests, start-up recovery) there is no turn to wait for, so the
work runs at once.
"""

import asyncio


def at_turn_end(callback) -> bool:
    """Call ``callback`` when this loop turn ends, or now without a loop.

    Returns True when the call was deferred.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        callback()
        return False
    loop.call_soon(callback)
    return True
