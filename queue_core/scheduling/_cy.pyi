"""Stub for the compiled twin of ``queue_core.scheduling._py`` (same API)."""

from typing import Optional

def backoff_delay_ms(
    attempts: int, exponent: float, base_ms: int, jitter_ms: int, unit: float
) -> int: ...
def purge_at_ms(now_ms: int, retention_ms: int) -> Optional[int]: ...
