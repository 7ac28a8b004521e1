"""ServerConfig: flags over environment over defaults, then validation."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

import zizq_server.serve
from zizq_server.serve.config import ServerConfig

def build(settings_from, environment=None, **flags):
    return ServerConfig.from_settings(
        settings_from(environment), flags, stderr_isatty=False
    )


def test_defaults_when_nothing_is_given(settings_from):
    config = build(settings_from)
    assert config.port == 7890
    assert config.admin_port == 8901
    assert config.heartbeat_interval_ms == 3_000
    assert config.log_format == "compact"
    assert config.log_format_explicit is False
    assert config.explicit == frozenset()
    config.validate()


def test_flag_beats_environment_beats_default(settings_from):
    config = build(
        settings_from,
        {"ZIZQ_PORT": "8000", "ZIZQ_HOST": "0.0.0.0"},
        port=9000,
        host=None,
    )
    assert config.port == 9000
    assert config.host == "0.0.0.0"
    assert config.admin_port == 8901
    assert config.explicit == {"port", "host"}


def test_unknown_option_names_are_ignored(settings_from):
    """The options of a Django command also carry verbosity, settings, ..."""
    config = build(settings_from, verbosity=1, traceback=False, port=1)
    assert config.port == 1


def test_environment_error_is_reported_first(settings_from):
    with pytest.raises(CommandError, match="invalid value for ZIZQ_PORT"):
        build(settings_from, {"ZIZQ_PORT": "http"}, port=1)


def test_enqueue_commit_mode_inherits_default(settings_from):
    assert build(settings_from).effective_enqueue_commit_mode == "buffered"
    config = build(settings_from, default_commit_mode="fsync")
    assert config.effective_enqueue_commit_mode == "fsync"
    config = build(settings_from, enqueue_commit_mode="fsync")
    assert config.default_commit_mode == "buffered"
    assert config.effective_enqueue_commit_mode == "fsync"


def test_log_format_auto_is_pretty_only_on_a_terminal_logging_to_stdout(
    settings_from,
):
    def auto(tty, **flags):
        return ServerConfig.from_settings(settings_from(), flags, stderr_isatty=tty)

    assert auto(True).log_format == "pretty"
    assert auto(False).log_format == "compact"
    assert auto(True, log_to_disk=True).log_format == "compact"
    assert auto(True, log_dir="/tmp/logs").log_format == "compact"
    explicit = auto(True, log_format="json")
    assert (explicit.log_format, explicit.log_format_explicit) == ("json", True)


def test_log_directory(settings_from):
    assert build(settings_from).log_directory is None
    assert build(settings_from, log_to_disk=True).log_directory == Path(
        "./zizq-root/log"
    )
    config = build(settings_from, log_to_disk=True, root_dir="/srv/z")
    assert config.log_directory == Path("/srv/z/log")
    config = build(settings_from, {"ZIZQ_LOG_DIR": "/var/log/zizq"})
    assert config.log_directory == Path("/var/log/zizq")


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"default_backoff_base_ms": 3_000}, (3_000, 4.0, 30_000)),
        ({"default_backoff_exponent": 3.75}, (15_000, 3.75, 30_000)),
        (
            {"default_backoff_base_ms": 3_000, "default_backoff_jitter_ms": 15_000},
            (3_000, 4.0, 15_000),
        ),
    ],
)
def test_backoff_options_in_any_subset(settings_from, flags, expected):
    """Each backoff option not given keeps its default (ADMIN_AND_CLI.md 13)."""
    config = build(settings_from, **flags)
    config.validate()
    assert config.backoff_given
    assert (
        config.default_backoff_base_ms,
        config.default_backoff_exponent,
        config.default_backoff_jitter_ms,
    ) == expected


def test_backoff_options_may_mix_flags_and_environment(settings_from):
    config = build(
        settings_from,
        {"ZIZQ_DEFAULT_BACKOFF_BASE": "3s", "ZIZQ_DEFAULT_BACKOFF_EXPONENT": "3.75"},
        default_backoff_jitter_ms=15_000,
    )
    config.validate()
    assert (
        config.default_backoff_base_ms,
        config.default_backoff_exponent,
        config.default_backoff_jitter_ms,
    ) == (3_000, 3.75, 15_000)


def test_backoff_from_environment_alone_is_accepted(settings_from):
    config = build(settings_from, {"ZIZQ_DEFAULT_BACKOFF_BASE": "1h30m"})
    config.validate()
    assert config.backoff_formula == (
        "delay_ms = attempts^4.0 * 1000 + 5400000 + rand * 30000 * attempts"
    )


def test_backoff_not_given_is_not_reported(settings_from):
    assert not build(settings_from).backoff_given


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"tls_cert": "c.pem"}, "--tls-cert and --tls-key must be provided together"),
        ({"tls_key": "k.pem"}, "--tls-cert and --tls-key must be provided together"),
        (
            {"tls_client_ca": "ca.pem"},
            "--tls-client-ca requires --tls-cert and --tls-key",
        ),
        (
            {"admin_tls_key": "k.pem"},
            "--admin-tls-cert and --admin-tls-key must be provided together",
        ),
        (
            {"admin_tls_client_ca": "ca.pem"},
            "--admin-tls-client-ca requires --admin-tls-cert and --admin-tls-key",
        ),
    ],
)
def test_tls_pairs(settings_from, flags, message):
    with pytest.raises(CommandError) as info:
        build(settings_from, **flags).validate()
    assert str(info.value) == message


def test_complete_tls_options_pass(settings_from):
    build(
        settings_from,
        tls_cert="c.pem",
        tls_key="k.pem",
        tls_client_ca="ca.pem",
        admin_tls_cert="c.pem",
        admin_tls_key="k.pem",
    ).validate()


def test_serve_command_validates_before_running_the_server(monkeypatch):
    lifecycle = SimpleNamespace(run=lambda config: pytest.fail("server started"))
    monkeypatch.setitem(sys.modules, "zizq_server.serve.lifecycle", lifecycle)
    monkeypatch.setattr(zizq_server.serve, "lifecycle", lifecycle, raising=False)
    with pytest.raises(CommandError, match="must be provided together"):
        call_command("serve", "--tls-cert", "c.pem")


def test_serve_command_hands_the_config_to_the_lifecycle(monkeypatch):
    started = []
    lifecycle = SimpleNamespace(run=lambda config, key: started.append(config))
    monkeypatch.setitem(sys.modules, "zizq_server.serve.lifecycle", lifecycle)
    monkeypatch.setattr(zizq_server.serve, "lifecycle", lifecycle, raising=False)
    call_command("serve", "--port", "0", "--no-admin", "--cache-size", "1GiB")
    (config,) = started
    assert (config.port, config.no_admin, config.cache_size_bytes) == (
        0,
        True,
        1_073_741_824,
    )


def test_serve_command_flag_value_errors():
    with pytest.raises(CommandError, match="argument --heartbeat-interval"):
        call_command("serve", "--heartbeat-interval", "soon")
