"""Keys and certificates: ECDSA P-256, SHA-256 signatures, PEM (spec 11).

Three kinds of certificate, as ``zizq tls`` issues them:

* a CA: self-signed, CA basic constraint (critical), may sign certificates;
* a server certificate: ``serverAuth``, its SANs (IP literals become IP
  SANs, everything else DNS names);
* a client certificate: ``clientAuth``, the client's name as CN.

Validity starts a minute in the past, so that a peer whose clock runs a
little behind accepts a certificate made a moment ago. Private keys are
unencrypted PKCS#8, the form every TLS stack reads.
"""

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLOCK_SKEW = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(common_name: str, days: int, *, now=None) -> Issued:
    key = new_key()
    name = _name(common_name)
    builder = (
        _builder(name, name, key.public_key(), days, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
    )
    return Issued(builder.sign(key, hashes.SHA256()), key)


def make_server_cert(
    ca: Issued, common_name: str, sans: list[str], days: int, *, now=None
) -> Issued:
    names = x509.SubjectAlternativeName([_general_name(san) for san in sans])
    return _leaf(ca, common_name, ExtendedKeyUsageOID.SERVER_AUTH, days, now, names)


def make_client_cert(ca: Issued, name: str, days: int, *, now=None) -> Issued:
    return _leaf(ca, name, ExtendedKeyUsageOID.CLIENT_AUTH, days, now)


def load_pem_pair(cert_pem: bytes, key_pem: bytes) -> Issued:
    """Parse a certificate and its key; ``ValueError`` when either is bad."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("unsupported key type (expected EC or RSA)")
    if _public_der(cert.public_key()) != _public_der(key.public_key()):
        raise ValueError("the private key does not match the certificate")
    return Issued(cert, key)


def check_ca(issued: Issued) -> None:
    """``ValueError`` unless ``issued`` may sign certificates."""
    try:
        constraints = issued.cert.extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise ValueError("the certificate is not a CA certificate")


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _leaf(ca: Issued, common_name, usage, days, now, names=None) -> Issued:
    key = new_key()
    builder = (
        _builder(_name(common_name), ca.cert.subject, key.public_key(), days, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if names is not None:
        builder = builder.add_extension(names, critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def _builder(subject, issuer, public_key, days, now) -> x509.CertificateBuilder:
    start = (now or datetime.datetime.now(datetime.timezone.utc)) - CLOCK_SKEW
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CLOCK_SKEW + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
        )
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(san: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(san.strip("[]")))
    except ValueError:
        return x509.DNSName(san)
