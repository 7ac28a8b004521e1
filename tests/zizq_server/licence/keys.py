"""Licence keys minted by the tests: an issuer of their own, and tokens."""

import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

NOW_MS = 1_770_000_000_000
NOW = NOW_MS // 1000
YEAR = 365 * 86_400


class Issuer:
    """An Ed25519 key pair that signs licence tokens."""

    def __init__(self) -> None:
        self.private_key = Ed25519PrivateKey.generate()
        self.public_key = self.private_key.public_key()

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )

    def write_public_key(self, path) -> str:
        path.write_bytes(self.public_pem())
        return str(path)

    def token(self, *, drop=(), **claims) -> str:
        """A signed token: a pro licence for a year unless ``claims`` say else."""
        body = {"sub": "lic_1", "name": "Acme Corp", "exp": NOW + YEAR, "tier": "pro"}
        body.update(claims)
        for name in drop:
            body.pop(name)
        return jwt.encode(body, self.private_key, algorithm="EdDSA")


def pro_licence_args(directory) -> list:
    """``zizq serve`` flags of a pro licence valid for a day from now, from a
    new issuer whose public key is written into ``directory`` and trusted."""
    issuer = Issuer()
    public_key = issuer.write_public_key(directory / "issuer.pem")
    token = issuer.token(exp=int(time.time()) + 86_400)
    return ["-k", token, "--license-public-key", public_key]
