"""``zizq tls``: files, output lines, reuse and refusals (spec 11, TLSGEN-*).

In process through ``call_command``, except the default out dir, which
needs the global ``--root-dir`` of the real command line.
"""

import datetime
import io
import os
import stat

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import CommandError, call_command

from tests.zizq_server.test_cli import run

INIT_FILES = [
    "ca-cert.pem",
    "ca-key.pem",
    "server-cert.pem",
    "server-key.pem",
    "client-worker-cert.pem",
    "client-worker-key.pem",
]


def tls(*args) -> str:
    out = io.StringIO()
    call_command("tls", *args, stdout=out)
    return out.getvalue()


def cert(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def cn(certificate) -> str:
    return certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def usage(certificate):
    extension = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    return list(extension.value)


def days_left(certificate) -> float:
    left = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return left.total_seconds() / 86_400


def signed_by(certificate, ca) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def test_init_writes_every_file_and_says_so(tmp_path):
    out_dir = tmp_path / "certs"
    output = tls(
        "init", "--out-dir", str(out_dir), "--san", "localhost", "--client", "worker"
    )
    assert sorted(os.listdir(out_dir)) == sorted(INIT_FILES)
    assert output == (
        "Generating CA (Zizq CA):\n"
        f"  wrote: {out_dir}/ca-cert.pem\n"
        f"  wrote: {out_dir}/ca-key.pem\n"
        "Generating server certificate (SANs: localhost):\n"
        f"  wrote: {out_dir}/server-cert.pem\n"
        f"  wrote: {out_dir}/server-key.pem\n"
        "Generating client certificate (worker):\n"
        f"  wrote: {out_dir}/client-worker-cert.pem\n"
        f"  wrote: {out_dir}/client-worker-key.pem\n"
    )
    for name in INIT_FILES:
        mode = stat.S_IMODE((out_dir / name).stat().st_mode)
        assert mode == (0o600 if name.endswith("key.pem") else 0o644), name
    ca = cert(out_dir / "ca-cert.pem")
    server = cert(out_dir / "server-cert.pem")
    client = cert(out_dir / "client-worker-cert.pem")
    assert cn(ca) == "Zizq CA"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"
    assert cn(server) == "Zizq Server"
    assert usage(server) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cn(client) == "worker"
    assert usage(client) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert signed_by(server, ca) and signed_by(client, ca)
    assert 364.9 < days_left(server) <= 365.01
    assert 3649.9 < days_left(ca) <= 3650.01


def test_init_again_reuses_the_ca_and_writes_only_the_new_client(tmp_path):
    out_dir = tmp_path / "certs"
    tls("init", "--out-dir", str(out_dir), "--client", "worker")
    before = {name: (out_dir / name).read_bytes() for name in INIT_FILES}
    output = tls("init", "--out-dir", str(out_dir), "--client", "new-worker")
    assert output.splitlines() == [
        "CA already exists, reusing:",
        f"  skip: {out_dir}/ca-cert.pem (already exists)",
        f"  skip: {out_dir}/ca-key.pem (already exists)",
        "Generating server certificate (SANs: localhost):",
        f"  skip: {out_dir}/server-cert.pem (already exists)",
        f"  skip: {out_dir}/server-key.pem (already exists)",
        "Generating client certificate (new-worker):",
        f"  wrote: {out_dir}/client-new-worker-cert.pem",
        f"  wrote: {out_dir}/client-new-worker-key.pem",
    ]
    assert {name: (out_dir / name).read_bytes() for name in INIT_FILES} == before
    new = cert(out_dir / "client-new-worker-cert.pem")
    assert signed_by(new, cert(out_dir / "ca-cert.pem"))


def test_init_overwrite_replaces_everything(tmp_path):
    out_dir = tmp_path / "certs"
    tls("init", "--out-dir", str(out_dir))
    old_ca = (out_dir / "ca-cert.pem").read_bytes()
    output = tls("init", "--out-dir", str(out_dir), "--overwrite")
    assert "skip:" not in output
    assert (out_dir / "ca-cert.pem").read_bytes() != old_ca


def test_init_with_an_external_ca(tmp_path):
    tls("ca", "--out-dir", str(tmp_path / "ca"), "--cn", "Corp CA")
    ca_cert, ca_key = tmp_path / "ca" / "ca-cert.pem", tmp_path / "ca" / "ca-key.pem"
    out_dir = tmp_path / "certs"
    ca_args = ["--ca-cert", str(ca_cert), "--ca-key", str(ca_key)]
    output = tls("init", "--out-dir", str(out_dir), *ca_args)
    assert output.splitlines()[:3] == [
        "Using external CA:",
        f"  cert: {ca_cert}",
        f"  key:  {ca_key}",
    ]
    assert sorted(os.listdir(out_dir)) == ["server-cert.pem", "server-key.pem"]
    assert signed_by(cert(out_dir / "server-cert.pem"), cert(ca_cert))


def test_init_refuses_an_external_ca_that_is_not_one(tmp_path):
    tls("init", "--out-dir", str(tmp_path / "a"))
    leaf = tmp_path / "a" / "server-cert.pem"
    with pytest.raises(CommandError) as caught:
        tls(
            "init",
            "--out-dir",
            str(tmp_path / "b"),
            "--ca-cert",
            str(leaf),
            "--ca-key",
            str(tmp_path / "a" / "server-key.pem"),
        )
    assert str(caught.value) == (
        f"invalid CA {leaf}: the certificate is not a CA certificate"
    )


def test_ca_writes_the_ca_and_refuses_to_replace_it(tmp_path):
    out_dir = tmp_path / "d"
    output = tls("ca", "--out-dir", str(out_dir), "--days", "10")
    assert output.splitlines() == [
        "Generating CA (Zizq CA):",
        f"  wrote: {out_dir}/ca-cert.pem",
        f"  wrote: {out_dir}/ca-key.pem",
    ]
    assert 9.9 < days_left(cert(out_dir / "ca-cert.pem")) <= 10.01
    with pytest.raises(CommandError) as caught:
        tls("ca", "--out-dir", str(out_dir))
    assert str(caught.value) == (
        f"CA files already exist in {out_dir}. Use --overwrite to replace them."
    )
    tls("ca", "--out-dir", str(out_dir), "--overwrite")


def test_server_cert_has_the_sans_and_the_ca_signature(tmp_path):
    tls("ca", "--out-dir", str(tmp_path / "ca"))
    out_dir = tmp_path / "d"
    ca_args = ["--ca-cert", str(tmp_path / "ca" / "ca-cert.pem")]
    ca_args += ["--ca-key", str(tmp_path / "ca" / "ca-key.pem")]
    args = ["server-cert", "--out-dir", str(out_dir), *ca_args, "--days", "30"]
    tls(*args, "--san", "a", "--san", "10.0.0.1")
    server = cert(out_dir / "server-cert.pem")
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["a"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.1"]
    assert signed_by(server, cert(tmp_path / "ca" / "ca-cert.pem"))
    assert 29.9 < days_left(server) <= 30.01
    with pytest.raises(CommandError) as caught:
        tls(*args)
    assert str(caught.value) == (
        f"Server cert files already exist in {out_dir}. "
        "Use --overwrite to replace them."
    )


def test_server_cert_without_a_ca(tmp_path):
    with pytest.raises(CommandError) as caught:
        tls("server-cert", "--out-dir", str(tmp_path))
    assert str(caught.value) == (
        f"failed to read CA cert {tmp_path}/ca-cert.pem: "
        "No such file or directory (os error 2)"
    )


def test_client_cert_uses_the_out_dir_ca_and_refuses_to_replace(tmp_path):
    tls("ca", "--out-dir", str(tmp_path))
    output = tls("client-cert", "--out-dir", str(tmp_path), "--name", "ext")
    assert output.splitlines() == [
        "Generating client certificate (ext):",
        f"  wrote: {tmp_path}/client-ext-cert.pem",
        f"  wrote: {tmp_path}/client-ext-key.pem",
    ]
    client = cert(tmp_path / "client-ext-cert.pem")
    assert cn(client) == "ext"
    assert signed_by(client, cert(tmp_path / "ca-cert.pem"))
    with pytest.raises(CommandError) as caught:
        tls("client-cert", "--out-dir", str(tmp_path), "--name", "ext")
    assert str(caught.value) == (
        f"Client cert files for 'ext' already exist in {tmp_path}. "
        "Use --overwrite to replace them."
    )


def test_default_out_dir_is_under_the_root_dir(tmp_path):
    result = run("--root-dir", str(tmp_path / "root"), "tls", "init")
    assert result.returncode == 0, result.stderr
    assert f"  wrote: {tmp_path}/root/tls/ca-cert.pem" in result.stdout
    assert sorted(os.listdir(tmp_path / "root" / "tls")) == sorted(INIT_FILES[:4])
