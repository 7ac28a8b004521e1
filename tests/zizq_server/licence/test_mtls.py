"""The mTLS licence check of start-up (ADMIN_AND_CLI.md 2.1, 5.5)."""

import pytest
from django.core.management import CommandError

from queue_core.clock import FakeClock
from zizq_server.licence import Licence, LicenceState
from zizq_server.serve.config import ServerConfig

EXP = 1_770_000_000
PRIMARY = {"tls_cert": "c.pem", "tls_key": "k.pem", "tls_client_ca": "ca.pem"}
ADMIN = {
    "admin_tls_cert": "c.pem",
    "admin_tls_key": "k.pem",
    "admin_tls_client_ca": "ca.pem",
}


def config(settings_from, **flags) -> ServerConfig:
    built = ServerConfig.from_settings(settings_from(), flags, stderr_isatty=False)
    built.validate()
    return built


def state(licence=None, now_ms=EXP * 1000 - 1) -> LicenceState:
    return LicenceState(licence, FakeClock(now_ms))


@pytest.mark.parametrize(
    "flags, what", [(PRIMARY, "mTLS"), (ADMIN, "admin mTLS")], ids=["primary", "admin"]
)
def test_mtls_needs_a_pro_licence(settings_from, flags, what):
    with pytest.raises(CommandError) as caught:
        config(settings_from, **flags).check_mtls(state())
    assert str(caught.value) == (
        f"cannot enable {what}: mutual TLS requires a pro license"
    )


def test_mtls_with_an_expired_licence(settings_from):
    """Loaded within the 60 s leeway, but expired for the check itself."""
    expired = state(Licence("l", "n", "pro", EXP), now_ms=EXP * 1000)
    with pytest.raises(CommandError) as caught:
        config(settings_from, **PRIMARY).check_mtls(expired)
    assert str(caught.value) == (
        "cannot enable mTLS: License expired. mutual TLS requires a pro license."
    )


@pytest.mark.parametrize("tier", ["pro", "enterprise"])
def test_mtls_with_a_licence(settings_from, tier):
    config(settings_from, **PRIMARY, **ADMIN).check_mtls(
        state(Licence("l", "n", tier, EXP))
    )


def test_no_client_ca_needs_no_licence(settings_from):
    config(settings_from, tls_cert="c.pem", tls_key="k.pem").check_mtls(state())
