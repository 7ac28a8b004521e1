# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Retry and retention arithmetic (compiled twin of ``_py.py``).

``backoff_delay_ms`` evaluates the reference's expression in C doubles, in
the same order, so it rounds the same way: Python's ``float ** float`` is
libm's ``pow``, int-to-float conversions round to nearest in both, and the
build turns off fused multiply-add contraction. Some cases leave that path
for the reference: an ``int`` exponent, for which Python computes an exact
integer power that ``pow`` matches only below 2**53; a power that overflows,
where Python raises; ``attempts`` below 1, outside the formula's domain;
and any argument that is not a plain ``int``/``float`` in C range.

``purge_at_ms`` stays on Python ints: retention may be saturated at the u64
maximum and the sum must saturate there too, not wrap.
"""

from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.long cimport PyLong_CheckExact, PyLong_FromDouble
from libc.math cimport floor, isfinite, pow

from ..defaults import MAX_U64
from . import _py

cdef double _EXACT = 9007199254740992.0  # 2**53


def backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit):
    """Delay before retry ``attempts`` (>= 1); ``unit`` is U in [0, 1)."""
    cdef long long a, base, jitter
    cdef double power
    cdef bint exact
    if not (
        PyLong_CheckExact(attempts)
        and PyLong_CheckExact(base_ms)
        and PyLong_CheckExact(jitter_ms)
        and PyFloat_CheckExact(unit)
        and (PyFloat_CheckExact(exponent) or PyLong_CheckExact(exponent))
    ):
        return _py.backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit)
    try:
        a = attempts
        base = base_ms
        jitter = jitter_ms
    except OverflowError:
        return _py.backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit)
    if a < 1:
        return _py.backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit)
    if PyFloat_CheckExact(exponent):
        power = pow(<double>a, PyFloat_AS_DOUBLE(exponent))
        exact = isfinite(power)  # Python raises on overflow; pow returns inf
    else:
        power = pow(<double>a, <double>exponent)
        exact = power < _EXACT
    if not exact:
        return _py.backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit)
    return PyLong_FromDouble(
        floor(
            power * 1000.0
            + <double>base
            + PyFloat_AS_DOUBLE(unit) * <double>jitter * <double>a
        )
    )


def purge_at_ms(now_ms, retention_ms):
    """When a job entering a terminal status is purged; None = delete now.

    Saturates at the u64 maximum (the purge key's range): a retention that
    long means "kept for good", not an overflow.
    """
    if retention_ms <= 0:
        return None
    return min(now_ms + retention_ms, MAX_U64)
