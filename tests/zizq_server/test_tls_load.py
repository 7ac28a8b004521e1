"""A listener's TLS files: every start-up message of spec 2.1 (serve.tls)."""

import pytest
from OpenSSL import SSL

from zizq_server.serve.tls import ALPN, TlsError, TlsFiles, load
from zizq_server.tools.tls import certs


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA and a server pair signed by it, as PEM files."""
    base = tmp_path_factory.mktemp("pki")
    ca = certs.make_ca("Test CA", 10)
    server = certs.make_server_cert(ca, "Zizq Server", ["localhost"], 10)
    other = certs.make_server_cert(ca, "Other", ["localhost"], 10)
    files = {
        "ca": ca.cert_pem(),
        "cert": server.cert_pem(),
        "key": server.key_pem(),
        "other_key": other.key_pem(),
        "chain": server.cert_pem() + ca.cert_pem(),
        "garbage": b"hello\n",
        "bad_cert": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "bad_key": b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    }
    for name, data in files.items():
        (base / f"{name}.pem").write_bytes(data)
    return base


def error(files: TlsFiles) -> str:
    with pytest.raises(TlsError) as caught:
        load(files, b"test")
    return str(caught.value)


def test_a_good_pair_loads(pki):
    context = load(TlsFiles(str(pki / "cert.pem"), str(pki / "key.pem")), b"t")
    assert isinstance(context, SSL.Context)
    load(TlsFiles(str(pki / "chain.pem"), str(pki / "key.pem")), b"t")
    load(
        TlsFiles(str(pki / "cert.pem"), str(pki / "key.pem"), str(pki / "ca.pem")),
        b"t",
    )
    assert ALPN == (b"h2", b"http/1.1")


def test_missing_files(pki):
    assert error(TlsFiles(str(pki / "nope.pem"), str(pki / "key.pem"))) == (
        f"failed to open cert file {pki}/nope.pem: "
        "No such file or directory (os error 2)"
    )
    assert error(TlsFiles(str(pki / "cert.pem"), str(pki / "nope.pem"))) == (
        f"failed to open key file {pki}/nope.pem: "
        "No such file or directory (os error 2)"
    )
    assert error(TlsFiles(str(pki), str(pki / "key.pem"))) == (
        f"failed to open cert file {pki}: Is a directory (os error 21)"
    )


def test_files_without_pem_blocks(pki):
    assert error(TlsFiles(str(pki / "garbage.pem"), str(pki / "key.pem"))) == (
        f"no certificates found in {pki}/garbage.pem"
    )
    assert error(TlsFiles(str(pki / "cert.pem"), str(pki / "cert.pem"))) == (
        f"no private key found in {pki}/cert.pem"
    )


def test_malformed_and_mismatched(pki):
    bad_cert = error(TlsFiles(str(pki / "bad_cert.pem"), str(pki / "key.pem")))
    assert bad_cert.startswith("invalid server certificate/key: ")
    bad_key = error(TlsFiles(str(pki / "cert.pem"), str(pki / "bad_key.pem")))
    assert bad_key.startswith("invalid server certificate/key: ")
    assert error(TlsFiles(str(pki / "cert.pem"), str(pki / "other_key.pem"))) == (
        "invalid server certificate/key: the private key does not match "
        "the certificate"
    )


def test_client_ca_files(pki):
    cert, key = str(pki / "cert.pem"), str(pki / "key.pem")
    assert error(TlsFiles(cert, key, str(pki / "bad_cert.pem"))).startswith(
        "invalid CA certificate: "
    )
    assert error(TlsFiles(cert, key, str(pki / "garbage.pem"))) == (
        f"no certificates found in {pki}/garbage.pem"
    )
    assert error(TlsFiles(cert, key, str(pki / "nope.pem"))) == (
        f"failed to open cert file {pki}/nope.pem: "
        "No such file or directory (os error 2)"
    )
