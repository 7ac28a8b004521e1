"""Licence tokens: signature, claims, tiers and the 60 s leeway at load."""

import jwt
import pytest

from zizq_server.licence.verify import (
    Licence,
    LicenceError,
    embedded_key,
    verify,
)

from .keys import NOW, NOW_MS, YEAR


@pytest.fixture
def keys(issuer):
    return (embedded_key(), issuer.public_key)


def refusal(token, keys, now_ms=NOW_MS) -> str:
    with pytest.raises(LicenceError) as caught:
        verify(token, keys, now_ms)
    return caught.value.message


@pytest.mark.parametrize("tier", ["pro", "enterprise"])
def test_verify_returns_the_licence_of_a_trusted_token(issuer, keys, tier):
    token = issuer.token(tier=tier, sub="lic_9", name="Globex Inc")
    assert verify(token, keys, NOW_MS) == Licence(
        "lic_9", "Globex Inc", tier, NOW + YEAR
    )


def test_verify_refuses_a_token_of_an_untrusted_issuer(stranger, keys):
    assert refusal(stranger.token(), keys) == (
        "license validation failed: InvalidSignature"
    )


def test_verify_trusts_only_the_embedded_key_by_default(issuer):
    assert refusal(issuer.token(), (embedded_key(),)) == (
        "license validation failed: InvalidSignature"
    )


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "x.y", "...."])
def test_verify_refuses_a_malformed_token(keys, token):
    assert refusal(token, keys) == "license validation failed: InvalidToken"


@pytest.mark.parametrize("claim", ["sub", "name", "exp"])
def test_verify_refuses_a_missing_claim(issuer, keys, claim):
    assert refusal(issuer.token(drop=[claim]), keys) == (
        f"license validation failed: Missing required claim: {claim}"
    )


def test_verify_refuses_a_token_without_tier(issuer, keys):
    assert refusal(issuer.token(drop=["tier"]), keys) == (
        "license validation failed: JSON error: missing field `tier`"
    )


@pytest.mark.parametrize("tier", ["gold", "free", "Pro", ""])
def test_verify_refuses_an_unknown_tier(issuer, keys, tier):
    assert refusal(issuer.token(tier=tier), keys) == f"unknown license tier: {tier}"


@pytest.mark.parametrize(
    "claims, name",
    [
        ({"name": 5}, "name"),
        ({"sub": ["x"]}, "sub"),
        ({"tier": None}, "tier"),
        ({"exp": "soon"}, "exp"),
        ({"exp": 1.5e12}, "exp"),
        ({"exp": True}, "exp"),
        ({"exp": -1}, "exp"),
    ],
)
def test_verify_refuses_claims_of_the_wrong_type(issuer, keys, claims, name):
    assert refusal(issuer.token(**claims), keys).startswith(
        f"license validation failed: JSON error: invalid type for `{name}`"
    )


def test_verify_accepts_a_token_expired_within_the_leeway(issuer, keys):
    """exp < now - 60 s is expired, as in the jsonwebtoken crate."""
    token = issuer.token(exp=NOW - 60)
    assert verify(token, keys, NOW_MS + 999).expires_at == NOW - 60


def test_verify_refuses_a_token_expired_beyond_the_leeway(issuer, keys):
    assert refusal(issuer.token(exp=NOW - 61), keys) == (
        "license validation failed: ExpiredSignature"
    )


def test_verify_refuses_another_algorithm(keys):
    token = jwt.encode(
        {"sub": "s", "name": "n", "exp": NOW + 10, "tier": "pro"},
        "a-shared-secret-of-at-least-32-bytes!",
        algorithm="HS256",
    )
    assert refusal(token, keys) == "license validation failed: InvalidAlgorithm"


def test_verify_refuses_a_token_for_an_audience(issuer, keys):
    assert refusal(issuer.token(aud="someone"), keys) == (
        "license validation failed: InvalidAudience"
    )


def test_verify_ignores_issued_at_and_not_before(issuer, keys):
    token = issuer.token(iat=NOW + YEAR, nbf=NOW + YEAR)
    assert verify(token, keys, NOW_MS).tier == "pro"
