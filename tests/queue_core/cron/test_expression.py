"""Cron expressions: field syntax, the dom/dow rule, zones and DST."""

from datetime import UTC, datetime

import pytest

from queue_core.cron import expression
from queue_core.errors import InvalidInput


def ms(*parts) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


def nexts(expr, tz, start_ms, count):
    out = []
    at = start_ms
    for _ in range(count):
        at = expression.next_after(expr, tz, at)
        out.append(at)
    return out


@pytest.mark.parametrize(
    "expr, start, want",
    [
        ("0 6 * * *", ms(2026, 3, 1, 6), ms(2026, 3, 2, 6)),  # strictly after
        ("*/15 * * * *", ms(2026, 3, 1, 0, 7), ms(2026, 3, 1, 0, 15)),
        ("1-30/2 0 * * *", ms(2026, 3, 1, 0, 2), ms(2026, 3, 1, 0, 3)),
        ("0 0 1,15 * *", ms(2026, 3, 2), ms(2026, 3, 15)),
        ("0 0 * JAN,FEB *", ms(2026, 3, 2), ms(2027, 1, 1)),
        ("0 0 * * SUN-SAT", ms(2026, 3, 2, 1), ms(2026, 3, 3)),
        ("0 0 * * 0-6", ms(2026, 3, 2, 1), ms(2026, 3, 3)),
        ("0 0 L * *", ms(2026, 2, 2), ms(2026, 2, 28)),  # last day of month
        ("0 0 15W * *", ms(2026, 3, 1), ms(2026, 3, 16)),  # 15th is a Sunday
        ("0 0 * * 5#2", ms(2026, 3, 1), ms(2026, 3, 13)),  # second Friday
        ("0 0 * * 5L", ms(2026, 3, 1), ms(2026, 3, 27)),  # last Friday (croner)
        ("0 0 ? * MON", ms(2026, 3, 1), ms(2026, 3, 2)),
        ("0 0 13 * FRI", ms(2026, 3, 1), ms(2026, 3, 6)),  # dom OR dow: a Friday
        ("0 0 13 * FRI", ms(2026, 3, 7), ms(2026, 3, 13)),  # ... or the 13th
        ("30 * * * * *", ms(2026, 3, 1, 0, 0, 30), ms(2026, 3, 1, 0, 1, 30)),
    ],
)
def test_next_after_follows_the_fields(expr, start, want):
    assert expression.next_after(expr, "UTC", start) == want


def test_next_after_truncates_now_to_seconds_and_gives_whole_seconds():
    start = ms(2026, 3, 1) + 999
    assert expression.next_after("* * * * * *", "UTC", start) == ms(2026, 3, 1, 0, 0, 1)
    assert expression.next_after("*/2 * * * * *", "UTC", start) % 2000 == 0


def test_an_expression_without_future_occurrence_has_no_next():
    assert expression.next_after("0 0 30 2 *", "UTC", ms(2026, 3, 1)) is None


def test_the_zone_places_the_wall_clock():
    assert expression.next_after("0 6 * * *", "Europe/Rome", ms(2026, 3, 1)) == ms(
        2026, 3, 1, 5
    )
    assert expression.next_after("0 6 * * *", "America/New_York", ms(2026, 3, 1)) == ms(
        2026, 3, 1, 11
    )


def test_a_time_in_a_skipped_hour_fires_when_the_gap_ends():
    # Europe/Rome, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    got = nexts("30 2 * * *", "Europe/Rome", ms(2026, 3, 28, 12), 2)
    assert got == [ms(2026, 3, 29, 1), ms(2026, 3, 30, 0, 30)]
    # America/New_York, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    got = nexts("30 2 * * *", "America/New_York", ms(2026, 3, 7, 12), 2)
    assert got == [ms(2026, 3, 8, 7), ms(2026, 3, 9, 6, 30)]


def test_a_time_the_repeated_hour_shows_twice_fires_once():
    # Europe/Rome, 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC).
    got = nexts("30 2 * * *", "Europe/Rome", ms(2026, 10, 24, 12), 2)
    assert got == [ms(2026, 10, 25, 0, 30), ms(2026, 10, 26, 1, 30)]
    # America/New_York, 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    got = nexts("30 1 * * *", "America/New_York", ms(2026, 10, 31, 12), 2)
    assert got == [ms(2026, 11, 1, 5, 30), ms(2026, 11, 2, 6, 30)]


def test_an_hour_wildcard_keeps_counting_through_the_repeated_hour():
    got = nexts("*/30 * * * *", "Europe/Rome", ms(2026, 10, 25, 0, 0), 4)
    assert got == [
        ms(2026, 10, 25, 0, 30),
        ms(2026, 10, 25, 1),
        ms(2026, 10, 25, 1, 30),
        ms(2026, 10, 25, 2),
    ]


def test_no_zone_means_the_host_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    expression._host_zone.cache_clear()
    expression._next_after_second.cache_clear()
    expression._compiled.cache_clear()
    try:
        assert expression.next_after("0 9 * * *", None, ms(2026, 3, 1)) == ms(
            2026, 3, 2
        )
    finally:
        expression._host_zone.cache_clear()
        expression._next_after_second.cache_clear()
        expression._compiled.cache_clear()


@pytest.mark.parametrize(
    "expr, detail",
    [
        ("nope", "expected 5 or 6 fields, found 1"),
        ("* * * *", "expected 5 or 6 fields, found 4"),
        ("* * * * * * *", "expected 5 or 6 fields, found 7"),
        ("60 * * * *", "out of range"),
        ("* * * * BLAH", "not acceptable"),
    ],
)
def test_invalid_expressions_are_refused(expr, detail):
    with pytest.raises(InvalidInput) as caught:
        expression.check(expr, "UTC")
    assert caught.value.message.startswith("invalid cron expression: ")
    assert detail in caught.value.message


@pytest.mark.parametrize("name", ["Mars/Base", "", "../etc/passwd", "Europe/\0"])
def test_unknown_zones_are_refused(name):
    with pytest.raises(InvalidInput) as caught:
        expression.check("* * * * *", name)
    assert caught.value.message.startswith('invalid timezone: "')
