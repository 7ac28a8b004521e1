"""Reading ZIZQ_* variables: strict casts, defaults, explicit names, errors."""

import importlib

import pytest

from queue_core import defaults
from zizq_server import settings
from zizq_server.settings import read_environment


def test_read_environment_fills_defaults_when_empty():
    reading = read_environment({})
    assert reading.errors == ()
    assert reading.explicit == frozenset()
    assert reading.values["root_dir"] == defaults.DEFAULT_ROOT_DIR
    assert reading.values["port"] == defaults.DEFAULT_PORT
    assert reading.values["log_level"] == "info"
    assert reading.values["log_format"] is None
    assert reading.values["enqueue_commit_mode"] is None
    assert reading.values["default_dead_job_retention_ms"] == 604_800_000
    assert reading.values["cache_size_bytes"] == 256_000_000
    assert reading.values["scheduler_batch_size"] == 200


def test_read_environment_parses_every_kind_of_value():
    reading = read_environment(
        {
            "ZIZQ_ROOT_DIR": "/var/lib/zizq",
            "ZIZQ_PORT": "8888",
            "ZIZQ_HEARTBEAT_INTERVAL": "12.5s",
            "ZIZQ_CACHE_SIZE": "1GiB",
            "ZIZQ_DEFAULT_BACKOFF_EXPONENT": "3.75",
            "ZIZQ_ENQUEUE_COMMIT_MODE": "fsync",
            "ZIZQ_LOG_FORMAT": "json",
            "ZIZQ_LOG_FILTER": "debug,zizq=trace",
            "ZIZQ_DATA_TABLE_SIZE": "64MiB",
            "ZIZQ_L0_THRESHOLD": "4",
        }
    )
    assert reading.errors == ()
    got = reading.values
    assert got["root_dir"] == "/var/lib/zizq"
    assert got["port"] == 8888
    assert got["heartbeat_interval_ms"] == 12_500
    assert got["cache_size_bytes"] == 1_073_741_824
    assert got["default_backoff_exponent"] == 3.75
    assert got["enqueue_commit_mode"] == "fsync"
    assert got["log_format"] == "json"
    assert got["log_filter"] == "debug,zizq=trace"
    assert got["data_table_size_bytes"] == 67_108_864
    assert got["l0_threshold"] == 4
    assert "port" in reading.explicit
    assert "host" not in reading.explicit


@pytest.mark.parametrize(
    "text, expected",
    [
        ("true", True),
        ("false", False),
        ("1", True),
        ("0", False),
        ("YES", True),
        ("off", False),
    ],
)
def test_no_admin_bool_spellings(text, expected):
    reading = read_environment({"ZIZQ_NO_ADMIN": text})
    assert reading.errors == ()
    assert reading.values["no_admin"] is expected


def test_bad_bool_is_an_error_not_false():
    reading = read_environment({"ZIZQ_NO_ADMIN": "maybe"})
    assert reading.errors == (
        "invalid value for ZIZQ_NO_ADMIN: invalid boolean 'maybe', "
        "expected 'true' or 'false'",
    )
    assert reading.values["no_admin"] is False


def test_empty_variable_counts_as_unset():
    reading = read_environment({"ZIZQ_PORT": "", "ZIZQ_LOG_DIR": ""})
    assert reading.errors == ()
    assert reading.values["port"] == defaults.DEFAULT_PORT
    assert reading.values["log_dir"] is None
    assert reading.explicit == frozenset()


def test_errors_are_collected_in_table_order():
    reading = read_environment({"ZIZQ_CACHE_SIZE": "lots", "ZIZQ_PORT": "http"})
    assert [e.split(":")[0] for e in reading.errors] == [
        "invalid value for ZIZQ_PORT",
        "invalid value for ZIZQ_CACHE_SIZE",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "ZIZQ_AUTO_COMPACT_THRESHOLD",
        "ZIZQ_DATA_TABLE_SIZE",
        "ZIZQ_INDEX_TABLE_SIZE",
        "ZIZQ_JOURNAL_SIZE",
        "ZIZQ_L0_THRESHOLD",
    ],
)
def test_bad_storage_variable_uses_spec_message(name):
    reading = read_environment({name: "big"})
    assert reading.errors == (f'invalid value for {name}: "big"',)


@pytest.mark.parametrize("text", ["abc", "0", "-3"])
def test_bad_scheduler_batch_size_is_ignored(text):
    reading = read_environment({"ZIZQ_SCHEDULER_BATCH_SIZE": text})
    assert reading.errors == ()
    assert reading.values["scheduler_batch_size"] == 200


def test_scheduler_batch_size_is_read():
    reading = read_environment({"ZIZQ_SCHEDULER_BATCH_SIZE": "50"})
    assert reading.values["scheduler_batch_size"] == 50


def test_settings_module_reads_process_environment(monkeypatch):
    """A bad value is recorded at import, never raised."""
    monkeypatch.setenv("ZIZQ_PORT", "9999")
    monkeypatch.setenv("ZIZQ_HEARTBEAT_INTERVAL", "soon")
    try:
        module = importlib.reload(settings)
        assert module.ZIZQ["port"] == 9999
        assert "port" in module.ZIZQ_EXPLICIT
        assert module.ZIZQ_ERRORS[0].startswith(
            "invalid value for ZIZQ_HEARTBEAT_INTERVAL: invalid duration 'soon'"
        )
    finally:
        monkeypatch.undo()
        importlib.reload(settings)
