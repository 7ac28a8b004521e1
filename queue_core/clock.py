"""Wall-clock time for the engine: the only module that reads it.

Everything else takes ``now_ms`` arguments or a ``Clock`` callable, so tests
drive a ``FakeClock`` instead of sleeping.
"""

import time
from typing import Callable

Clock = Callable[[], int]


def now_ms() -> int:
    """Milliseconds since the Unix epoch (UTC)."""
    return time.time_ns() // 1_000_000


class FakeClock:
    """A settable clock for tests: call it for the time, ``advance`` to move it."""

    def __init__(self, start_ms: int = 1_770_000_000_000) -> None:
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, delta_ms: int) -> None:
        self.ms += delta_ms
