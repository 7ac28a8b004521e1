"""The running server's shared state, set once by ``serve`` and read by handlers.

Handlers are plain functions looked up from route tables, so they reach the
store through this one object instead of through constructor plumbing. It
is filled in before the listeners accept traffic and never replaced.
"""

import asyncio

from .licence import LicenceState


class Runtime:
    """Everything a request handler may need besides its request."""

    def __init__(self) -> None:
        self.store = None
        self.heartbeat_interval_ms = 3_000
        self.streams = set()  # open take streams, ended on shutdown
        self.shutdown = asyncio.Event()
        self.started_monotonic = 0.0
        # The free tier until serve loads a key; the watcher may replace it.
        self.licence = LicenceState()

    def configure(self, store, heartbeat_interval_ms: int) -> None:
        self.store = store
        self.heartbeat_interval_ms = heartbeat_interval_ms


runtime = Runtime()
