# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Retry and retention arithmetic (compiled twin of ``_py.py``).

``backoff_delay_ms`` evaluates the reference's expression in C doubles, in
the same order, so it rounds the same way: Python's ``float ** float`` is
libm's ``pow`` (where Python raises on overflow, ``pow`` returns infinity,
and both saturate), int-to-float conversions round to nearest in both, and
the build turns off fused multiply-add contraction. Arguments outside the
formula's domain (``attempts`` below 1, anything that is not a plain
``int``/``float`` in C range) go to the reference, which says what they do.

``purge_at_ms`` stays on Python ints: retention may be saturated at the u64
maximum and the sum must saturate there too, not wrap.
"""

from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.long cimport PyLong_CheckExact, PyLong_FromDouble
from libc.math cimport floor, pow

from ..defaults import MAX_U64
from . import _py

cdef double _U64_END = 18446744073709551616.0  # 2**64


def backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit):
    """Delay before retry ``attempts`` (>= 1); ``unit`` is U in [0, 1)."""
    cdef long long a, base, jitter
    cdef double power, delay
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
        power = <double>exponent
    except OverflowError:
        return _py.backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit)
    if a < 1:
        return _py.backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit)
    power = pow(<double>a, power)
    delay = (
        power * 1000.0
        + <double>base
        + PyFloat_AS_DOUBLE(unit) * <double>jitter * <double>a
    )
    if not delay < _U64_END:  # infinity or NaN as well
        return MAX_U64
    return PyLong_FromDouble(floor(delay))


def purge_at_ms(now_ms, retention_ms):
    """When a job entering a terminal status is purged; None = delete now.

    Saturates at the u64 maximum (the purge key's range): a retention that
    long means "kept for good", not an overflow.
    """
    if retention_ms <= 0:
        return None
    return min(now_ms + retention_ms, MAX_U64)
