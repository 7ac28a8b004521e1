"""The ``zizq`` entry point: global flags, default command, exit statuses."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zizq_server import cli

REPO_ROOT = Path(__file__).resolve().parents[2]

def run(*args, env=None, entry=("-m", "zizq_server.cli")):
    """Run ``zizq`` (or ``manage.py``) in a clean environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZIZQ_")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, *entry, *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(*args, env=None):
    return run(*args, env=env, entry=("manage.py",))


# --- in process ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args, rest, environment",
    [
        ([], [], {}),
        (["--root-dir", "/r", "serve"], ["serve"], {"ZIZQ_ROOT_DIR": "/r"}),
        (
            ["serve", "--root-dir=/r", "--port", "1"],
            ["serve", "--port", "1"],
            {"ZIZQ_ROOT_DIR": "/r"},
        ),
        (["-k", "jwt", "serve"], ["serve"], {"ZIZQ_LICENSE_KEY": "jwt"}),
        (["-kjwt"], [], {"ZIZQ_LICENSE_KEY": "jwt"}),
        (["serve", "--license-key", "@/f"], ["serve"], {"ZIZQ_LICENSE_KEY": "@/f"}),
        (["serve", "--", "--root-dir", "x"], ["serve", "--", "--root-dir", "x"], {}),
    ],
)
def test_take_global_flags(args, rest, environment):
    assert cli.take_global_flags(args) == (rest, environment)


def test_global_flag_without_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["serve", "--root-dir"])
    assert info.value.code == 2
    assert "a value is required for '--root-dir'" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(capsys, flag):
    cli.main([flag])
    assert capsys.readouterr().out == "zizq 0.6.1\n"


def test_help_lists_commands(capsys):
    cli.main(["-h"])
    out = capsys.readouterr().out
    assert "usage: zizq" in out
    assert all(name in out for name in cli.COMMANDS)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "1"], "unexpected argument '--port'"),
        (["--root-dir", "x", "--port", "1"], "unexpected argument '--port'"),
        (["frobnicate"], "unrecognized subcommand 'frobnicate'"),
    ],
)
def test_top_level_usage_errors_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: zizq")
    assert message in err


# --- real processes -----------------------------------------------------------


def test_subprocess_version():
    result = run("--version")
    assert (result.returncode, result.stdout) == (0, "zizq 0.6.1\n")


def test_serve_version_is_zizq_not_django():
    result = manage("serve", "--version")
    assert (result.returncode, result.stdout) == (0, "zizq 0.6.1\n")


@pytest.mark.parametrize("entry", [run, manage])
def test_bad_duration_flag_is_a_usage_error(entry):
    result = entry("serve", "--heartbeat-interval", "soon")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: ")
    assert "argument --heartbeat-interval: invalid duration 'soon'" in result.stderr


def test_unknown_flag_is_a_usage_error():
    result = run("serve", "--no-such-flag")
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in result.stderr


def test_bare_port_flag_is_a_usage_error():
    assert run("--port", "1").returncode == 2


@pytest.mark.parametrize("entry", [run, manage])
def test_a_backoff_option_alone_passes_validation(entry):
    """No "provided together" error (the real server's rule): the next check runs."""
    result = entry("serve", "--default-backoff-base", "3s", "--tls-cert", "c.pem")
    assert (result.returncode, result.stderr) == (
        1,
        "Error: --tls-cert and --tls-key must be provided together\n",
    )


def test_global_flags_before_command_reach_serve():
    result = run("--root-dir", "/tmp/zizq-test", "serve", "--tls-cert", "c.pem")
    assert result.returncode == 1
    assert result.stderr == (
        "Error: --tls-cert and --tls-key must be provided together\n"
    )


def test_bare_zizq_runs_serve_with_environment():
    result = run(env={"ZIZQ_PORT": "http"})
    assert result.returncode == 1
    assert result.stderr.startswith("Error: invalid value for ZIZQ_PORT: ")


def test_bad_storage_variable_message():
    result = run("serve", env={"ZIZQ_JOURNAL_SIZE": "huge"})
    assert (result.returncode, result.stderr) == (
        1,
        'Error: invalid value for ZIZQ_JOURNAL_SIZE: "huge"\n',
    )


def test_serve_help_hides_django_options():
    result = run("serve", "--help")
    assert result.returncode == 0
    assert "--default-backoff-jitter" in result.stdout
    for hidden in (
        "--settings",
        "--pythonpath",
        "--traceback",
        "--verbosity",
        "--no-color",
        "--force-color",
        "--skip-checks",
        "--version",
    ):
        assert hidden not in result.stdout
