"""The key file watcher: rewrites, replacement, symlinks, bad tokens."""

import asyncio
import logging
import os

import pytest

from queue_core.clock import FakeClock
from zizq_server.licence import LicenceState, load, watcher

from .keys import NOW_MS

CHANGED = "license key file changed, updating license"
INVALID = "license key file changed but new token is invalid, keeping current license"
UNREADABLE = "failed to re-read license key file"


@pytest.fixture
def setup(issuer, tmp_path, caplog):
    """A key file holding a pro token, loaded as serve loads it."""
    caplog.set_level(logging.INFO, logger="zizq")
    path = tmp_path / "licence.jwt"
    path.write_text(issuer.token() + "\n")
    public_key = issuer.write_public_key(tmp_path / "issuer.pem")
    key = load(f"@{path}", public_key, NOW_MS)
    clock = FakeClock(NOW_MS)
    state = LicenceState(key.licence, clock)
    return key, path, state, clock


def messages(caplog):
    return [record.getMessage() for record in caplog.records]


def test_check_an_unchanged_file_does_nothing(setup, caplog):
    key, path, state, clock = setup
    path.write_text(f"  {key.token}  \n")
    assert watcher.check(key, key.token, state, clock) == key.token
    assert messages(caplog) == []


def test_check_a_new_valid_token_puts_it_in_force(issuer, setup, caplog):
    key, path, state, clock = setup
    token = issuer.token(tier="enterprise", name="Globex Inc")
    path.write_text(token)
    assert watcher.check(key, key.token, state, clock) == token
    assert messages(caplog) == [CHANGED, "license validated"]
    assert caplog.records[1].fields["licensee"] == "Globex Inc"
    assert state.tier == "enterprise"


@pytest.mark.parametrize(
    "claims, error",
    [
        ({"tier": "gold"}, "unknown license tier: gold"),
        ({"exp": NOW_MS // 1000 - 61}, "license validation failed: ExpiredSignature"),
    ],
)
def test_check_an_invalid_new_token_keeps_the_licence(
    issuer, setup, caplog, claims, error
):
    key, path, state, clock = setup
    path.write_text(issuer.token(**claims))
    before = state.licence
    last = watcher.check(key, key.token, state, clock)
    assert messages(caplog) == [INVALID]
    assert caplog.records[0].levelname == "WARNING"
    assert caplog.records[0].fields == {"error": error}
    assert state.licence is before
    caplog.clear()
    assert watcher.check(key, last, state, clock) == last
    assert messages(caplog) == [], "an invalid token is reported once"


def test_check_garbage_and_an_untrusted_issuer(stranger, setup, caplog):
    key, path, state, clock = setup
    path.write_text("garbage")
    last = watcher.check(key, key.token, state, clock)
    path.write_text(stranger.token())
    watcher.check(key, last, state, clock)
    assert [r.fields["error"] for r in caplog.records] == [
        "license validation failed: InvalidToken",
        "license validation failed: InvalidSignature",
    ]
    assert state.tier == "pro"


def test_check_an_unreadable_file_keeps_the_licence(setup, caplog):
    key, path, state, clock = setup
    path.unlink()
    assert watcher.check(key, key.token, state, clock) == key.token
    assert messages(caplog) == [UNREADABLE]
    assert caplog.records[0].fields == {
        "path": str(path),
        "error": "No such file or directory (os error 2)",
    }
    assert state.tier == "pro"


def test_check_sees_a_replaced_file(issuer, setup):
    key, path, state, clock = setup
    fresh = path.with_name("fresh.jwt")
    fresh.write_text(issuer.token(tier="enterprise"))
    os.replace(fresh, path)
    watcher.check(key, key.token, state, clock)
    assert state.tier == "enterprise"


def test_check_follows_a_re_pointed_symlink(issuer, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="zizq")
    (tmp_path / "a.jwt").write_text(issuer.token(tier="pro"))
    (tmp_path / "b.jwt").write_text(issuer.token(tier="enterprise"))
    link = tmp_path / "current.jwt"
    link.symlink_to(tmp_path / "a.jwt")
    public_key = issuer.write_public_key(tmp_path / "issuer.pem")
    key = load(f"@{link}", public_key, NOW_MS)
    state = LicenceState(key.licence, FakeClock(NOW_MS))
    staged = tmp_path / "staged"
    staged.symlink_to(tmp_path / "b.jwt")
    os.replace(staged, link)
    watcher.check(key, key.token, state, FakeClock(NOW_MS))
    assert state.tier == "enterprise"


def test_check_restores_an_expired_licence(issuer, setup):
    key, path, state, clock = setup
    clock.ms = key.licence.expires_at * 1000
    assert state.refusal("unique jobs").startswith("License expired.")
    path.write_text(issuer.token(exp=key.licence.expires_at + 3600))
    watcher.check(key, key.token, state, clock)
    assert state.refusal("unique jobs") is None


def test_run_checks_every_interval_until_shutdown(issuer, setup):
    key, path, state, clock = setup

    async def scenario():
        shutdown = asyncio.Event()
        task = asyncio.ensure_future(watcher.run(key, 5, state, clock, shutdown))
        path.write_text(issuer.token(tier="enterprise"))
        while state.tier != "enterprise":
            await asyncio.sleep(0.005)
        shutdown.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())


def test_log_started(caplog):
    caplog.set_level(logging.INFO, logger="zizq")
    watcher.log_started("/etc/zizq/license.jwt", 5_999)
    assert messages(caplog) == ["license key file watcher started"]
    assert caplog.records[0].fields == {
        "path": "/etc/zizq/license.jwt",
        "interval_secs": 5,
    }
