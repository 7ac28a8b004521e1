"""Strict value parsers shared by settings and command-line flags."""

import argparse

import pytest

from queue_core.defaults import MAX_U64
from zizq_server import values


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0", 0),
        ("500", 500),
        ("1500", 1500),
        ("500ms", 500),
        ("0.5s", 500),
        ("12.5s", 12_500),
        ("3s", 3_000),
        ("1h 30m", 5_400_000),
        ("1h30m", 5_400_000),
        ("1.5h", 5_400_000),
        ("7d", 604_800_000),
        ("3w", 1_814_400_000),
        ("90d", 7_776_000_000),
        ("1M", 2_630_016_000),
        ("2 months", 5_260_032_000),
        ("1y", 31_557_600_000),
        ("1 year 1 day", 31_644_000_000),
        ("2hrs 5mins 10secs", 7_510_000),
        ("1500us", 1),
        ("999999ns", 0),
        ("  250 msec  ", 250),
    ],
)
def test_parse_duration_ms_accepts(text, expected):
    assert values.parse_duration_ms(text) == expected


def test_parse_duration_ms_saturates_huge_retention():
    """90000000000y is "forever": exact arithmetic, capped at the u64 range."""
    assert values.parse_duration_ms("90000000000y") == MAX_U64
    assert values.parse_duration_ms("500000000y") == 500_000_000 * 31_557_600_000


@pytest.mark.parametrize(
    "text", ["", "abc", "-5", "5x", "1h abc", "1.s", "s", "1e3", "12,5s", "1h-30m"]
)
def test_parse_duration_ms_rejects(text):
    with pytest.raises(ValueError, match="invalid duration"):
        values.parse_duration_ms(text)


def test_parse_duration_ms_names_the_unknown_unit():
    with pytest.raises(ValueError, match="unknown unit 'x'"):
        values.parse_duration_ms("5x")


def test_units_are_case_sensitive_for_minutes_and_months():
    assert values.parse_duration_ms("1m") == 60_000
    assert values.parse_duration_ms("1M") == 2_630_016_000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("268435456", 268_435_456),
        ("0", 0),
        ("500MB", 500_000_000),
        ("2GB", 2_000_000_000),
        ("2 gb", 2_000_000_000),
        ("1GiB", 1_073_741_824),
        ("64mib", 67_108_864),
        ("100B", 100),
        ("1.5KB", 1_500),
        ("1.5 KiB", 1_536),
        ("1TB", 10**12),
        ("1PiB", 1024**5),
    ],
)
def test_parse_byte_size_accepts(text, expected):
    assert values.parse_byte_size(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "-1", "5XB", "1 G B", "MB", "1e6"])
def test_parse_byte_size_rejects(text):
    with pytest.raises(ValueError, match="invalid byte size"):
        values.parse_byte_size(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("False", False),
        ("1", True),
        ("0", False),
        ("yes", True),
        ("no", False),
        ("On", True),
        ("off", False),
    ],
)
def test_parse_bool_accepts(text, expected):
    assert values.parse_bool(text) is expected


@pytest.mark.parametrize("text", ["", "maybe", "ok", "y", "2", "tru"])
def test_parse_bool_rejects(text):
    with pytest.raises(ValueError, match="invalid boolean"):
        values.parse_bool(text)


def test_parse_commit_mode():
    assert values.parse_commit_mode("buffered") == "buffered"
    assert values.parse_commit_mode("fsync") == "fsync"
    with pytest.raises(ValueError) as info:
        values.parse_commit_mode("sync")
    assert str(info.value) == (
        "invalid commit mode 'sync', expected 'buffered' or 'fsync'"
    )


@pytest.mark.parametrize(
    "parse, good, bad",
    [
        (values.parse_log_format, ["pretty", "compact", "json", "JSON"], ["text"]),
        (
            values.parse_log_level,
            ["trace", "debug", "info", "warn", "error"],
            ["warning", "off"],
        ),
        (values.parse_log_rotation, ["daily", "hourly", "never"], ["weekly"]),
    ],
)
def test_enum_parsers(parse, good, bad):
    for text in good:
        assert parse(text) == text.lower()
    for text in bad:
        with pytest.raises(ValueError, match="expected one of"):
            parse(text)


def test_parse_port_range():
    assert values.parse_port("0") == 0
    assert values.parse_port("65535") == 65535
    for text in ["65536", "-1", "http", "80.0", ""]:
        with pytest.raises(ValueError, match="invalid port"):
            values.parse_port(text)


def test_parse_u32_and_u8_ranges():
    assert values.parse_u32("4294967295") == 4294967295
    assert values.parse_u8("255") == 255
    for parse, text in [(values.parse_u32, "4294967296"), (values.parse_u8, "256")]:
        with pytest.raises(ValueError):
            parse(text)


def test_parse_float():
    assert values.parse_float("4.0") == 4.0
    assert values.parse_float("3.75") == 3.75
    assert values.parse_float("2") == 2.0
    for text in ["nan", "inf", "abc", "", "1,5"]:
        with pytest.raises(ValueError, match="invalid number"):
            values.parse_float(text)


def test_argparse_reports_the_parser_message():
    """InvalidValue doubles as ArgumentTypeError: argparse shows our text."""
    parser = argparse.ArgumentParser(prog="t", exit_on_error=False)
    parser.add_argument("--heartbeat-interval", type=values.parse_duration_ms)
    with pytest.raises(argparse.ArgumentError, match="unknown unit 'q'"):
        parser.parse_args(["--heartbeat-interval", "5q"])
