"""The licence log lines and humantime's format_duration."""

import logging

import pytest

from zizq_server.licence import Licence, format_duration, log_licence

DAY = 86_400
MONTH = 2_630_016  # 30.44 days
YEAR = 31_557_600  # 365.25 days


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0s"),
        (-5, "0s"),
        (1, "1s"),
        (59, "59s"),
        (60, "1m"),
        (61, "1m 1s"),
        (3600, "1h"),
        (3661, "1h 1m 1s"),
        (DAY, "1day"),
        (2 * DAY, "2days"),
        (DAY + 1, "1day 1s"),
        (MONTH, "1month"),
        (2 * MONTH + DAY, "2months 1day"),
        (YEAR, "1year"),
        (3 * YEAR + 5, "3years 5s"),
        # The spec's example (ADMIN_AND_CLI.md 5.3).
        (11 * MONTH + 26 * DAY + 3600 + 13 * 60 + 20, "11months 26days 1h 13m 20s"),
        # A year of 365 days is not a humantime year.
        (365 * DAY, "11months 30days 3h 50m 24s"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def records(caplog):
    return [
        (r.levelname, r.getMessage(), getattr(r, "fields", {})) for r in caplog.records
    ]


def test_log_licence_without_a_key(caplog):
    caplog.set_level(logging.INFO, logger="zizq")
    log_licence(None, 0)
    assert records(caplog) == [
        ("INFO", "no license key provided, running in free tier", {})
    ]
    assert caplog.records[0].name == "zizq.commands.serve"


def test_log_licence_with_a_key(caplog):
    caplog.set_level(logging.INFO, logger="zizq")
    exp = 1_800_000_000
    log_licence(Licence("lic_1", "Acme Corp", "pro", exp), (exp - 3661) * 1000 + 999)
    assert records(caplog) == [
        (
            "INFO",
            "license validated",
            {
                "licensee": "Acme Corp",
                "tier": "pro",
                "expires_at": exp,
                "remaining": "1h 1m 1s",
            },
        )
    ]
