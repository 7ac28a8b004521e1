"""The -k value: raw or @file, the extra issuer key, and the start-up errors."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from zizq_server.licence import LicenceError, load

from .keys import NOW_MS


def load_error(value, public_key=None) -> str:
    with pytest.raises(LicenceError) as caught:
        load(value, public_key, NOW_MS)
    return caught.value.message


@pytest.fixture
def public_key(issuer, tmp_path):
    return issuer.write_public_key(tmp_path / "issuer.pem")


def test_load_without_a_key_is_the_free_tier():
    key = load(None, None, NOW_MS)
    assert key.licence is None
    assert key.path is None
    assert len(key.keys) == 1


def test_load_a_raw_token(issuer, public_key):
    key = load(issuer.token(tier="enterprise"), public_key, NOW_MS)
    assert key.licence.tier == "enterprise"
    assert key.path is None
    assert key.public_key_path == public_key


def test_load_a_key_file_trims_its_contents(issuer, public_key, tmp_path):
    token = issuer.token()
    (tmp_path / "licence.jwt").write_text(f"\n  {token} \n\n")
    key = load(f"@{tmp_path / 'licence.jwt'}", public_key, NOW_MS)
    assert key.licence.licensee_name == "Acme Corp"
    assert key.token == token
    assert key.path == str(tmp_path / "licence.jwt")


def test_load_an_unreadable_key_file(tmp_path):
    missing = tmp_path / "missing.jwt"
    assert load_error(f"@{missing}") == (
        f"failed to read license key from {missing}: "
        "No such file or directory (os error 2)"
    )
    assert load_error(f"@{tmp_path}") == (
        f"failed to read license key from {tmp_path}: Is a directory (os error 21)"
    )


def test_load_a_key_file_that_is_not_utf8(tmp_path):
    (tmp_path / "k").write_bytes(b"\xff\xfe")
    assert load_error(f"@{tmp_path / 'k'}") == (
        f"failed to read license key from {tmp_path / 'k'}: "
        "stream did not contain valid UTF-8"
    )


def test_load_an_invalid_token(stranger, public_key):
    assert load_error("garbage") == (
        "invalid license key: license validation failed: InvalidToken"
    )
    assert load_error(stranger.token(), public_key) == (
        "invalid license key: license validation failed: InvalidSignature"
    )


def test_load_an_unknown_tier(issuer, public_key):
    assert load_error(issuer.token(tier="gold"), public_key) == (
        "invalid license key: unknown license tier: gold"
    )


def test_load_checks_the_extra_issuer_key_even_without_a_token(tmp_path):
    missing = tmp_path / "missing.pem"
    assert load_error(None, str(missing)) == (
        f"failed to read license public key from {missing}: "
        "No such file or directory (os error 2)"
    )


@pytest.mark.parametrize(
    "content",
    [
        b"not a key",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        ),
    ],
    ids=["text", "bad-der", "ec-key"],
)
def test_load_a_malformed_extra_issuer_key(issuer, tmp_path, content):
    path = tmp_path / "issuer.pem"
    path.write_bytes(content)
    assert load_error(issuer.token(), str(path)) == (
        f"invalid license public key {path}: not a PEM Ed25519 public key"
    )
