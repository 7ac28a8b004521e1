"""A listener's TLS material: PEM files -> one OpenSSL context (spec 2.1, 4).

``load(files)`` reads the certificate chain, the private key and, for
mutual TLS, the client CA file, checks them with ``cryptography`` and
builds the ``OpenSSL.SSL.Context`` that every connection of the listener is
made from. Every mistake is a ``TlsError`` worded as the real server words
it (``failed to open cert file <p>: <os error>``, ``no certificates found
in <p>``, ``no private key found in <p>``, ``invalid server
certificate/key: ...``, ``invalid CA certificate: ...``), so that start-up
can print it and exit 1 before anything binds, and a certificate rotation
(``tls_reload``) can log it and keep the pair in force.

The context: TLS 1.2 or newer, ALPN choosing ``h2`` over ``http/1.1``
(nothing when the client offers neither: it gets HTTP/1.1, sniffed like on
the plain port), and with a client CA, a client certificate is required
and must chain to one of its certificates (an expired one fails too).
"""

import os
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto

from ..tools.tls.files import os_error

ALPN = (b"h2", b"http/1.1")
_CERT_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\s*", re.DOTALL
)
_KEY_BLOCK = re.compile(
    rb"-----BEGIN ((?:RSA |EC )?PRIVATE KEY)-----.+?-----END \1-----\s*", re.DOTALL
)


class TlsError(Exception):
    """TLS files that cannot serve; the message is the spec's."""


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of one listener (``client_ca`` None: no mTLS)."""

    cert: str
    key: str
    client_ca: str | None = None

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(path for path in (self.cert, self.key, self.client_ca) if path)

    def signature(self) -> tuple:
        """What changes when any of the files is rewritten or replaced."""
        stamps = []
        for path in self.paths:
            try:
                found = os.stat(path)
            except OSError:
                stamps.append(None)
            else:
                stamps.append((found.st_ino, found.st_mtime_ns, found.st_size))
        return tuple(stamps)


def load(files: TlsFiles, session_id: bytes) -> SSL.Context:
    """The server context for ``files``; ``TlsError`` when they are unfit.

    ``session_id`` names the listener's sessions (OpenSSL refuses to resume
    a session of a client-verifying context without one).
    """
    chain = _certificates(files.cert, "invalid server certificate/key")
    key = _private_key(files.key)
    if _public(chain[0].public_key()) != _public(key.public_key()):
        raise TlsError(
            "invalid server certificate/key: the private key does not match "
            "the certificate"
        )
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE)
    context.set_session_id(session_id)
    try:
        context.use_certificate(chain[0])
        for extra in chain[1:]:
            context.add_extra_chain_cert(extra)
        context.use_privatekey(key)
        context.check_privatekey()
    except (SSL.Error, TypeError, ValueError) as exc:
        raise TlsError(f"invalid server certificate/key: {describe(exc)}") from None
    context.set_alpn_select_callback(_select_protocol)
    if files.client_ca is not None:
        _require_client_certificates(context, files.client_ca)
    return context


def _require_client_certificates(context: SSL.Context, path: str) -> None:
    authorities = _certificates(path, "invalid CA certificate")
    store = context.get_cert_store()
    try:
        for authority in authorities:
            store.add_cert(crypto.X509.from_cryptography(authority))
            # Named in the certificate request: a client with several
            # certificates picks one of ours.
            context.add_client_ca(authority)
    except (crypto.Error, SSL.Error, TypeError, ValueError) as exc:
        raise TlsError(f"invalid CA certificate: {describe(exc)}") from None
    context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT)


def _select_protocol(connection, offered: list[bytes]):
    for protocol in ALPN:
        if protocol in offered:
            return protocol
    return SSL.NO_OVERLAPPING_PROTOCOLS


def _certificates(path: str, invalid: str) -> list[x509.Certificate]:
    data = _read(path, "cert")
    blocks = _CERT_BLOCK.findall(data)
    if not blocks:
        raise TlsError(f"no certificates found in {path}")
    try:
        return [x509.load_pem_x509_certificate(block) for block in blocks]
    except ValueError as exc:
        raise TlsError(f"{invalid}: {describe(exc)}") from None


def _private_key(path: str):
    block = _KEY_BLOCK.search(_read(path, "key"))
    if block is None:
        raise TlsError(f"no private key found in {path}")
    try:
        return serialization.load_pem_private_key(block.group(0), password=None)
    except (ValueError, TypeError) as exc:
        raise TlsError(f"invalid server certificate/key: {describe(exc)}") from None


def _read(path: str, kind: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise TlsError(f"failed to open {kind} file {path}: {os_error(exc)}") from None


def _public(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def describe(error: Exception) -> str:
    """An OpenSSL error's reasons (``SSL.Error`` holds a list of triples),
    or any other error's text."""
    if isinstance(error, SSL.Error) and error.args and isinstance(error.args[0], list):
        reasons = [entry[-1] for entry in error.args[0] if entry]
        if reasons:
            return ", ".join(reasons)
    return str(error) or type(error).__name__
