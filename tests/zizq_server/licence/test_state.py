"""The licence in force: tiers, and expiry checked exactly per operation."""

from queue_core.clock import FakeClock
from zizq_server.licence import (
    BATCHED_JOBS,
    CRON_SCHEDULING,
    UNIQUE_JOBS,
    Licence,
    LicenceState,
)

EXP = 1_770_000_000


def licence(tier="pro", exp=EXP) -> Licence:
    return Licence("lic_1", "Acme Corp", tier, exp)


def test_free_tier_refuses_every_pro_feature():
    state = LicenceState(None, FakeClock())
    assert state.tier == "free"
    assert not state.allows(UNIQUE_JOBS)
    assert state.refusal(UNIQUE_JOBS) == "unique jobs requires a pro license"
    assert state.refusal(BATCHED_JOBS) == "batched jobs requires a pro license"
    assert state.refusal(CRON_SCHEDULING) == "cron scheduling requires a pro license"


def test_licence_allows_until_the_second_of_its_expiry():
    """Expired when now_seconds >= exp, without the load-time leeway."""
    clock = FakeClock(EXP * 1000 - 1)
    state = LicenceState(licence(), clock)
    assert state.allows(UNIQUE_JOBS)
    assert state.refusal(UNIQUE_JOBS) is None
    clock.advance(1)
    assert not state.allows(UNIQUE_JOBS)
    assert state.refusal(CRON_SCHEDULING) == (
        "License expired. cron scheduling requires a pro license."
    )
    assert state.tier == "pro"


def test_enterprise_includes_pro():
    state = LicenceState(licence("enterprise"), FakeClock(EXP * 1000 - 5_000))
    assert state.tier == "enterprise"
    assert state.allows(BATCHED_JOBS)
    assert state.refusal(BATCHED_JOBS) is None


def test_replace_restores_the_features_of_an_expired_licence():
    clock = FakeClock(EXP * 1000)
    state = LicenceState(licence(), clock)
    assert state.refusal(UNIQUE_JOBS).startswith("License expired.")
    state.replace(licence(exp=EXP + 3600))
    assert state.refusal(UNIQUE_JOBS) is None
    state.replace(None)
    assert state.refusal(UNIQUE_JOBS) == "unique jobs requires a pro license"
