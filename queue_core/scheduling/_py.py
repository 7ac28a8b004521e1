"""Retry and retention arithmetic (pure-Python reference).

The backoff formula is the real server's 0.6.1 one (API.md 5.2): the
exponent term is in *seconds*, ``delay = a^E * 1000 + B + U * J * a`` for the
failure that brings the job to ``a`` attempts, floored to whole ms.

Every time computed here saturates at the u64 maximum instead of failing:
enqueue, PATCH and the serve flags accept numbers (an exponent of 1000, a
base of ``90000000000y``) whose delay is beyond any clock, and a failure
must still be recordable for them; such a job is scheduled for the end of
time. The power is taken in doubles whatever the exponent's type, as the
real server does, so an integer exponent costs no big-integer arithmetic.
"""

import math

from ..defaults import MAX_U64

# The first double beyond the u64 range; every double below it floors to a
# value that fits.
_U64_END = 18446744073709551616.0


def backoff_delay_ms(
    attempts: int, exponent: float, base_ms: int, jitter_ms: int, unit: float
) -> int:
    """Delay before retry number ``attempts`` (>= 1); ``unit`` is U in [0, 1).

    Saturates at the u64 maximum (also for a NaN, which only an exponent or
    ``unit`` outside the validated ranges can produce).
    """
    try:
        delay = (
            float(attempts) ** float(exponent) * 1000.0
            + base_ms
            + unit * jitter_ms * attempts
        )
    except OverflowError:
        return MAX_U64
    return math.floor(delay) if delay < _U64_END else MAX_U64


def purge_at_ms(now_ms: int, retention_ms: int):
    """When a job entering a terminal status is purged; None = delete now.

    Saturates at the u64 maximum (the purge key's range): a retention that
    long means "kept for good", not an overflow.
    """
    if retention_ms <= 0:
        return None
    return min(now_ms + retention_ms, MAX_U64)
