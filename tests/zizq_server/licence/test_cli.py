"""Every command verifies the licence key first (ADMIN_AND_CLI.md 1)."""

import time

import pytest

from tests.zizq_server.test_cli import manage, run

INVALID = "Error: invalid license key: license validation failed: InvalidToken\n"


@pytest.mark.parametrize(
    "args",
    [
        ("-k", "garbage", "tls", "ca"),
        ("tls", "ca", "--license-key", "garbage"),
        ("-k", "garbage", "backup", "x"),
        ("-k", "garbage", "compact"),
        ("-k", "garbage", "restore", "backup.tar.gz"),
        ("-k", "garbage", "top"),
        ("-k", "garbage", "serve", "--root-dir", "never"),
        ("-k", "garbage"),
    ],
)
def test_a_bad_key_fails_every_command(args, tmp_path):
    result = run(*args, env={"ZIZQ_ROOT_DIR": str(tmp_path / "never")})
    assert (result.returncode, result.stderr) == (1, INVALID)
    assert not (tmp_path / "never").exists()


def test_a_bad_key_in_the_environment_fails_manage_py_commands():
    result = manage("backup", "x", env={"ZIZQ_LICENSE_KEY": "garbage"})
    assert (result.returncode, result.stderr) == (1, INVALID)


def test_a_bad_key_flag_fails_manage_py_serve(tmp_path):
    result = manage("serve", "--root-dir", str(tmp_path / "never"), "-k", "garbage")
    assert (result.returncode, result.stderr) == (1, INVALID)


def test_an_unreadable_key_file(tmp_path):
    missing = tmp_path / "missing.jwt"
    result = run("-k", f"@{missing}", "backup", "x")
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: failed to read license key from {missing}: "
        "No such file or directory (os error 2)\n"
    )


@pytest.mark.parametrize("entry", [run, manage])
def test_a_missing_extra_issuer_key_is_fatal(entry, tmp_path):
    missing = tmp_path / "issuer.pem"
    result = entry(
        "serve",
        "--root-dir",
        str(tmp_path / "never"),
        "--license-public-key",
        str(missing),
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: failed to read license public key from {missing}: "
        "No such file or directory (os error 2)\n"
    )


def test_a_malformed_extra_issuer_key_is_fatal(tmp_path):
    bad = tmp_path / "issuer.pem"
    bad.write_text("not a key")
    result = run("serve", env={"ZIZQ_LICENSE_PUBLIC_KEY": str(bad)})
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: invalid license public key {bad}: not a PEM Ed25519 public key\n"
    )


def test_a_key_signed_by_the_extra_issuer_passes(issuer, tmp_path):
    public_key = issuer.write_public_key(tmp_path / "issuer.pem")
    result = run(
        "-k",
        issuer.token(exp=int(time.time()) + 3600),
        "--license-public-key",
        public_key,
        "restore",
        "--help",
    )
    assert result.returncode == 0, result.stderr


def test_version_needs_no_key_check():
    result = run("-k", "garbage", "--version")
    assert (result.returncode, result.stdout) == (0, "zizq 0.6.1\n")
