"""Backoff and retention arithmetic: both twins, compiled against reference."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_core.defaults import (
    DEFAULT_BACKOFF_BASE_MS,
    DEFAULT_BACKOFF_EXPONENT,
    DEFAULT_BACKOFF_JITTER_MS,
    DEFAULT_RETRY_LIMIT,
    MAX_U32,
    MAX_U64,
)
from queue_core.scheduling import _py

DAY_MS = 24 * 3600 * 1000
UNIT = st.floats(0.0, 1.0, exclude_max=True)


def test_backoff_delay_ms_matches_the_spec_example(scheduling_impl):
    """{exponent: 2.0, base_ms: 100, jitter_ms: 0}: 1100, 4100, 9100 ms."""
    delays = [scheduling_impl.backoff_delay_ms(a, 2.0, 100, 0, 0.5) for a in (1, 2, 3)]
    assert delays == [1100, 4100, 9100]


def test_backoff_delay_ms_defaults_span_about_25_days(scheduling_impl):
    """25 retries at the defaults wait 24-26 days in total, jitter aside."""
    total = sum(
        scheduling_impl.backoff_delay_ms(
            attempts,
            DEFAULT_BACKOFF_EXPONENT,
            DEFAULT_BACKOFF_BASE_MS,
            DEFAULT_BACKOFF_JITTER_MS,
            0.0,
        )
        for attempts in range(1, DEFAULT_RETRY_LIMIT + 1)
    )
    assert 24 * DAY_MS <= total <= 26 * DAY_MS


@given(attempts=st.integers(1, 1000), unit=UNIT)
def test_backoff_delay_ms_jitter_stays_within_j_times_attempts(
    scheduling_impl, attempts, unit
):
    floor = scheduling_impl.backoff_delay_ms(attempts, 1.5, 250, 1000, 0.0)
    delay = scheduling_impl.backoff_delay_ms(attempts, 1.5, 250, 1000, unit)
    assert floor <= delay <= floor + 1000 * attempts
    assert isinstance(delay, int)


@settings(max_examples=500)
@given(
    attempts=st.integers(1, MAX_U32),
    exponent=st.floats(-4.0, 12.0) | st.integers(0, 12),
    base_ms=st.integers(0, MAX_U32),
    jitter_ms=st.integers(0, MAX_U32),
    unit=UNIT,
)
def test_backoff_delay_ms_twins_agree(
    cy_scheduling, attempts, exponent, base_ms, jitter_ms, unit
):
    args = (attempts, exponent, base_ms, jitter_ms, unit)
    assert _outcome(cy_scheduling.backoff_delay_ms, *args) == _outcome(
        _py.backoff_delay_ms, *args
    )


@pytest.mark.parametrize(
    "args",
    [
        (0, 2.0, 100, 0, 0.5),
        (0, -1.0, 100, 0, 0.5),
        (-8, 1 / 3, 100, 0, 0.5),
        (3, 40, 0, 0, 0.0),
        (10, 400, 0, 0, 0.0),
        (10, 400.0, 0, 0, 0.0),
        (2, float("nan"), 0, 0, 0.0),
        (2, float("inf"), 0, 0, 0.0),
        (2, 2.0, 0, 0, float("nan")),
        (2, 2.0, MAX_U64, 0, 0.0),
        (2, 2.0, 100, 1, 1),
        (True, 2.0, 100, 0, 0.0),
        (2, "2", 100, 0, 0.0),
    ],
)
def test_backoff_delay_ms_twins_agree_outside_the_domain(cy_scheduling, args):
    assert _outcome(cy_scheduling.backoff_delay_ms, *args) == _outcome(
        _py.backoff_delay_ms, *args
    )


@pytest.mark.parametrize(
    "args",
    [
        (2, 1000.0, 0, 0, 0.0),  # 2^1000 s: a finite double, past u64 ms
        (3, 1000, 0, 0, 0.0),  # 3^1000: beyond a double
        (MAX_U32, 3.4028234663852886e38, MAX_U32, MAX_U32, 0.99),
        (2, 2.0, MAX_U64, 0, 0.0),  # a base from --default-backoff-base
        (MAX_U32, 0.0, 0, MAX_U64, 0.99),
        (2, 10**400, 0, 0, 0.0),
        (2, float("inf"), 0, 0, 0.0),
        (2, float("nan"), 0, 0, 0.0),
    ],
)
def test_backoff_delay_ms_saturates_at_u64(scheduling_impl, args):
    """A delay beyond the u64 ms range is the maximum, never an error."""
    assert scheduling_impl.backoff_delay_ms(*args) == MAX_U64


def test_backoff_delay_ms_takes_the_power_in_doubles(scheduling_impl):
    """An integer exponent is not an exact big-integer power."""
    assert scheduling_impl.backoff_delay_ms(2, 10**9, 0, 0, 0.0) == MAX_U64
    assert scheduling_impl.backoff_delay_ms(5, -3, 0, 0, 0.0) == 8
    assert scheduling_impl.backoff_delay_ms(5, -3.0e38, 7, 0, 0.0) == 7


@given(
    attempts=st.integers(1, MAX_U32),
    exponent=st.floats(-3.4e38, 3.4e38),
    base_ms=st.integers(0, MAX_U64),
    jitter_ms=st.integers(0, MAX_U64),
    unit=UNIT,
)
def test_backoff_delay_ms_is_a_u64_for_any_accepted_input(
    scheduling_impl, attempts, exponent, base_ms, jitter_ms, unit
):
    delay = scheduling_impl.backoff_delay_ms(attempts, exponent, base_ms, jitter_ms, unit)
    assert isinstance(delay, int) and 0 <= delay <= MAX_U64


def test_purge_at_ms_none_means_delete_now(scheduling_impl):
    assert scheduling_impl.purge_at_ms(1000, 0) is None
    assert scheduling_impl.purge_at_ms(1000, -5) is None
    assert scheduling_impl.purge_at_ms(1000, 250) == 1250


def test_purge_at_ms_saturates_at_u64(scheduling_impl):
    assert scheduling_impl.purge_at_ms(10, MAX_U64) == MAX_U64
    assert scheduling_impl.purge_at_ms(10, MAX_U64 - 10) == MAX_U64
    assert scheduling_impl.purge_at_ms(10, MAX_U64 - 11) == MAX_U64 - 1


@given(now_ms=st.integers(0, MAX_U64), retention_ms=st.integers(-5, MAX_U64))
def test_purge_at_ms_twins_agree(cy_scheduling, now_ms, retention_ms):
    assert cy_scheduling.purge_at_ms(now_ms, retention_ms) == _py.purge_at_ms(
        now_ms, retention_ms
    )


def _outcome(fn, *args):
    """What a call did: its value, or the type and text of its exception."""
    try:
        return "returned", fn(*args)
    except Exception as exc:
        return "raised", type(exc), str(exc)
