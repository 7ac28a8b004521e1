"""Reconnect and resend delays: exponential with jitter, capped."""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryDelays:
    """Delay ``min_wait * multiplier**(attempt-1)``, at most ``max_wait``,
    less up to a quarter at random so many workers do not retry together."""

    min_wait: float = 0.5
    max_wait: float = 30.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        base = min(self.max_wait, self.min_wait * self.multiplier ** (attempt - 1))
        return base * (1 - random.random() / 4)
