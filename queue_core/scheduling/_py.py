"""Retry and retention arithmetic (pure-Python reference).

The backoff formula is the real server's 0.6.1 one (API.md 5.2): the
exponent term is in *seconds*, ``delay = a^E * 1000 + B + U * J * a`` for the
failure that brings the job to ``a`` attempts, floored to whole ms.
"""

import math

from ..defaults import MAX_U64


def backoff_delay_ms(
    attempts: int, exponent: float, base_ms: int, jitter_ms: int, unit: float
) -> int:
    """Delay before retry number ``attempts`` (>= 1); ``unit`` is U in [0, 1)."""
    return math.floor(
        attempts**exponent * 1000.0 + base_ms + unit * jitter_ms * attempts
    )


def purge_at_ms(now_ms: int, retention_ms: int):
    """When a job entering a terminal status is purged; None = delete now.

    Saturates at the u64 maximum (the purge key's range): a retention that
    long means "kept for good", not an overflow.
    """
    if retention_ms <= 0:
        return None
    return min(now_ms + retention_ms, MAX_U64)
