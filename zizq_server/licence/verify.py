"""Licence tokens: Ed25519-signed JWTs checked offline (ADMIN_AND_CLI.md 5.1).

A token is trusted when its signature verifies against one of the trusted
public keys: the issuer key embedded here (the real server's), plus at most
one extra key an operator names with ``--license-public-key``. Every
problem is a ``LicenceError`` whose message is the real server's detail
text, which callers wrap (``invalid license key: <detail>`` at start-up,
``error=<detail>`` in the watcher's log line):

* anything PyJWT refuses -> ``license validation failed: <kind>``, with the
  kind spelled as the Rust ``jsonwebtoken`` crate prints it
  (``InvalidToken``, ``InvalidSignature``, ``ExpiredSignature``,
  ``Missing required claim: name`` ...);
* a tier other than ``pro`` or ``enterprise`` -> ``unknown license tier: <t>``.

Expiry is checked here, not by PyJWT, so that the time comes from an
injected ``now_ms`` (PyJWT reads the wall clock itself): a token is expired
when ``exp < now_seconds - 60``, the crate's rule with its 60 s leeway. The
leeway applies to loading only; once loaded, every gated operation
compares the time with ``exp`` exactly (``state.LicenceState``).
"""

import dataclasses

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

# The real server's issuer key (SubjectPublicKeyInfo PEM).
EMBEDDED_PUBLIC_KEY_PEM = b"""-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAAo6KrA8jcLkMyzIZI1+IzwQ1zSzyxj29Xv+26RTVUEM=
-----END PUBLIC KEY-----
"""
LEEWAY_SECONDS = 60
TIERS = ("pro", "enterprise")
_REQUIRED = ("exp", "sub", "name")
# Claims checked by PyJWT's defaults that the real server's validation
# leaves alone (it validates exp only, here, by hand).
_OPTIONS = {
    "require": list(_REQUIRED),
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_sub": False,
    "verify_jti": False,
}
# PyJWT's refusals in the words of the jsonwebtoken crate's ErrorKind.
_KINDS = (
    (jwt.InvalidSignatureError, "InvalidSignature"),
    (jwt.InvalidAlgorithmError, "InvalidAlgorithm"),
    (jwt.InvalidAudienceError, "InvalidAudience"),
    (jwt.InvalidIssuerError, "InvalidIssuer"),
)


class LicenceError(Exception):
    """Raised when a licence token or an issuer key cannot be trusted."""

    @property
    def message(self) -> str:
        return str(self.args[0])


@dataclasses.dataclass(frozen=True)
class Licence:
    """A verified licence: who holds it, its tier, and when it ends."""

    licensee_id: str
    licensee_name: str
    tier: str
    # Unix seconds.
    expires_at: int


def embedded_key() -> Ed25519PublicKey:
    return load_pem_public_key(EMBEDDED_PUBLIC_KEY_PEM)


def read_public_key(path: str) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file at ``path``."""
    try:
        with open(path, "rb") as file:
            pem = file.read()
    except OSError as exc:
        raise LicenceError(
            f"failed to read license public key from {path}: {os_error(exc)}"
        ) from None
    try:
        key = load_pem_public_key(pem)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise LicenceError(
            f"invalid license public key {path}: not a PEM Ed25519 public key"
        )
    return key


def verify(token: str, keys, now_ms: int) -> Licence:
    """The licence ``token`` grants, signed by one of ``keys``, at ``now_ms``."""
    claims = _claims(token, keys)
    for name in ("sub", "name", "tier"):
        if name not in claims:
            raise _failed(f"JSON error: missing field `{name}`")
        if not isinstance(claims[name], str):
            raise _failed(f"JSON error: invalid type for `{name}`, expected a string")
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int) or exp < 0:
        raise _failed("JSON error: invalid type for `exp`, expected u64")
    if exp < now_ms // 1000 - LEEWAY_SECONDS:
        raise _failed("ExpiredSignature")
    if claims["tier"] not in TIERS:
        raise LicenceError(f"unknown license tier: {claims['tier']}")
    return Licence(claims["sub"], claims["name"], claims["tier"], exp)


def _claims(token: str, keys) -> dict:
    """The token's claims once one of ``keys`` verifies its signature."""
    try:
        for key in keys[:-1]:
            try:
                return _decode(token, key)
            except jwt.InvalidSignatureError:
                continue
        return _decode(token, keys[-1])
    except jwt.MissingRequiredClaimError as exc:
        raise _failed(f"Missing required claim: {exc.claim}") from None
    except jwt.PyJWTError as exc:
        raise _failed(_kind(exc)) from None


def _decode(token: str, key) -> dict:
    return jwt.decode(token, key, algorithms=["EdDSA"], options=_OPTIONS)


def _kind(exc: jwt.PyJWTError) -> str:
    for error, kind in _KINDS:
        if isinstance(exc, error):
            return kind
    return "InvalidToken"


def _failed(detail: str) -> LicenceError:
    return LicenceError(f"license validation failed: {detail}")


def os_error(exc: OSError) -> str:
    """An OS error as Rust's ``std::io::Error`` prints it."""
    if exc.errno is None:
        return str(exc)
    return f"{exc.strerror} (os error {exc.errno})"
