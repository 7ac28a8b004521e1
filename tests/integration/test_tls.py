"""HTTPS and mutual TLS on both listeners, against real servers (spec 4;
TLS-01..07, SRV-08's TLS flags).

Certificates come from ``zizq tls init`` (one run per module); a second CA
and an expired client certificate, which ``tls`` cannot make, come from
the same library. Mutual TLS needs a pro licence: the tests mint one and
trust its issuer with ``--license-public-key``.
"""

import datetime
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import httpx
import pytest

from tests.zizq_server.licence.keys import pro_licence_args
from tests.zizq_server.test_cli import run
from zizq_server.tools.tls import certs
from zizq_server.tools.tls.files import PairPaths, read_ca

from .server import ROOT, zizq_command

JOB = {"queue": "q", "type": "t", "payload": 1}
TOO_LARGE = (
    b"POST /jobs HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
    b"content-length: 2048\r\n\r\n" + b"x" * 2048
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """``tls init`` output, plus a stranger CA's client and an expired one."""
    base = tmp_path_factory.mktemp("pki")
    made = run(
        "tls", "init", "--out-dir", str(base), "--san", "localhost",
        "--san", "127.0.0.1", "--client", "worker",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    ca = read_ca(PairPaths.named(str(base), "ca"))
    stranger_ca = certs.make_ca("Stranger CA", 10)
    PairPaths.named(str(base), "client-stranger").write(
        certs.make_client_cert(stranger_ca, "stranger", 10), open(os.devnull, "w")
    )
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    PairPaths.named(str(base), "client-expired").write(
        certs.make_client_cert(ca, "expired", 1, now=long_ago), open(os.devnull, "w")
    )
    other = certs.make_ca("Other CA", 10)
    (base / "other-ca-cert.pem").write_bytes(other.cert_pem())
    PairPaths.named(str(base), "other-server").write(
        certs.make_server_cert(other, "Zizq Server", ["127.0.0.1"], 10),
        open(os.devnull, "w"),
    )
    return base


def tls_flags(pki, prefix="", client_ca=False) -> list:
    flags = [f"--{prefix}tls-cert", str(pki / "server-cert.pem")]
    flags += [f"--{prefix}tls-key", str(pki / "server-key.pem")]
    if client_ca:
        flags += [f"--{prefix}tls-client-ca", str(pki / "ca-cert.pem")]
    return flags


def context(pki, client=None, cas=("ca-cert.pem",)) -> ssl.SSLContext:
    made = ssl.create_default_context()
    for ca in cas:
        made.load_verify_locations(str(pki / ca))
    if client is not None:
        made.load_cert_chain(
            str(pki / f"{client}-cert.pem"), str(pki / f"{client}-key.pem")
        )
    return made


def get(url, ssl_context, path="/health", http2=False) -> httpx.Response:
    with httpx.Client(verify=ssl_context, http2=http2, timeout=10) as client:
        return client.get(f"{url}{path}")


def listening(server, api) -> dict:
    for record in server.lines:
        if record["fields"].get("api") == api:
            return record["fields"]
    raise AssertionError(f"no {api} listening line")


@pytest.fixture(scope="module")
def pro(tmp_path_factory):
    """``-k`` and ``--license-public-key`` flags of a pro licence."""
    return pro_licence_args(tmp_path_factory.mktemp("issuer"))


def test_https_over_http1_and_h2(make_server, pki):
    server = make_server(*tls_flags(pki), "--max-request-body-size", "1KiB")
    assert listening(server, "primary")["scheme"] == "https"
    assert listening(server, "admin")["scheme"] == "http"
    trust = context(pki)
    h1 = get(server.url, trust)
    assert (h1.status_code, h1.http_version) == (200, "HTTP/1.1")
    with httpx.Client(verify=trust, http2=True, http1=False, timeout=10) as client:
        enqueued = client.post(f"{server.url}/jobs", json=JOB)
        assert (enqueued.status_code, enqueued.http_version) == (201, "HTTP/2")
        job = client.get(f"{server.url}/jobs/{enqueued.json()['id']}")
        assert job.json()["status"] == "ready"
    with httpx.Client(verify=trust, timeout=10) as client:
        with client.stream("GET", f"{server.url}/jobs/take?queue=q") as stream:
            taken = next(line for line in stream.iter_lines() if line)
    assert enqueued.json()["id"] in taken
    # Cleartext on the TLS port: refused in the handshake, logged, served on.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=5)
    warning = server.wait_for_log("TLS handshake failed")
    assert warning["level"] == "WARN"
    assert warning["fields"]["peer"].startswith("127.0.0.1:")
    assert get(server.url, trust).status_code == 200
    # A refusal over TLS ends with close_notify (http1 half-closes), read
    # here as the end of the stream; the client's own close is no error.
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        with trust.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(TOO_LARGE)
            answer = b"".join(iter(lambda: tls.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert get(server.url, trust).status_code == 200
    assert [r for r in server.lines if r["level"] == "ERROR"] == []


def test_alpn_offers_h2_then_http1_over_tls_1_2_or_newer(make_server, pki):
    server = make_server("--no-admin", *tls_flags(pki))
    for offered, chosen in [
        (["http/1.1", "h2"], "h2"),
        (["http/1.1"], "http/1.1"),
        (["spdy/3"], None),
    ]:
        client = context(pki)
        client.set_alpn_protocols(offered)
        with socket.create_connection(("127.0.0.1", server.port)) as raw:
            with client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert tls.selected_alpn_protocol() == chosen
                assert tls.version() in ("TLSv1.2", "TLSv1.3")
    # A client that agreed on HTTP/1.1 is not switched by the h2 preface.
    client = context(pki)
    client.set_alpn_protocols(["http/1.1"])
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        with client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            assert tls.recv(65536).startswith(b"HTTP/1.1 400 ")


def test_mutual_tls_on_both_listeners(make_server, pki, pro, tmp_path):
    server = make_server(
        *pro, *tls_flags(pki, client_ca=True), *tls_flags(pki, "admin-", True)
    )
    for url in (server.url, server.admin_url):
        assert url.startswith("https://")
        path = "/health" if url == server.url else "/nothing"
        for refused in (None, "client-stranger", "client-expired"):
            with pytest.raises(httpx.TransportError):
                get(url, context(pki, refused), path)
        accepted = get(url, context(pki, "client-worker"), path)
        assert accepted.status_code == (200 if url == server.url else 404)
    failures = [
        r for r in server.lines if r["fields"]["message"] == "TLS handshake failed"
    ]
    assert len(failures) == 6, failures
    errors = {r["fields"]["error"] for r in failures}
    assert any("certificate" in error for error in errors), errors
    # backup over mTLS (TLS-06): the admin client's --ca-cert and client pair.
    archive = tmp_path / "backup.tar.zst"
    backup = subprocess.run(
        zizq_command(
            "backup", "--url", server.admin_url.replace("127.0.0.1", "localhost"),
            "--ca-cert", str(pki / "ca-cert.pem"),
            "--client-cert", str(pki / "client-worker-cert.pem"),
            "--client-key", str(pki / "client-worker-key.pem"), str(archive),
        ),  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert backup.returncode == 0, backup.stderr
    assert archive.stat().st_size > 0
    without = subprocess.run(
        zizq_command(
            "backup", "--url", server.admin_url, "--ca-cert",
            str(pki / "ca-cert.pem"), str(tmp_path / "refused.tar.zst"),
        ),  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert without.returncode == 1
    assert "Error: backup request failed: " in without.stderr
    assert "certificate required" in without.stderr


def start_failure(*args, root) -> subprocess.CompletedProcess:
    return run("serve", "--root-dir", str(root), "--port", "0", *args)


def test_start_up_refusals(pki, tmp_path):
    missing = start_failure(
        "--tls-cert", str(pki / "nope.pem"), "--tls-key", str(pki / "server-key.pem"),
        root=tmp_path / "a",
    )  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr == (
        f"Error: failed to open cert file {pki}/nope.pem: "
        "No such file or directory (os error 2)\n"
    )
    assert "listening" not in missing.stdout
    assert not (tmp_path / "a" / "data").exists()  # nothing opened
    free = start_failure(*tls_flags(pki, "admin-", True), root=tmp_path / "b")
    assert free.returncode == 1
    assert free.stderr == (
        "Error: cannot enable admin mTLS: mutual TLS requires a pro license\n"
    )


def served_issuer(port, trust) -> str:
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with trust.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            issuer = dict(item[0] for item in tls.getpeercert()["issuer"])
    return issuer["commonName"]


def new_records(server, since, message) -> list:
    return [r for r in server.lines[since:] if r["fields"]["message"] == message]


def wait_for_new(server, since, message, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = new_records(server, since, message)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no new {message!r} in {server.messages()[since:]}")


def test_certificate_rotation_while_clients_connect(make_server, pki, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(pki / "server-cert.pem", live / "cert.pem")
    shutil.copy(pki / "server-key.pem", live / "key.pem")
    server = make_server(
        "--no-admin", "--tls-cert", str(live / "cert.pem"),
        "--tls-key", str(live / "key.pem"),
    )  # fmt: skip
    both = context(pki, cas=("ca-cert.pem", "other-ca-cert.pem"))
    assert served_issuer(server.port, both) == "Zizq CA"
    kept_open = httpx.Client(verify=both, timeout=10)
    assert kept_open.get(f"{server.url}/health").status_code == 200
    failures, answers, stop = [], [], threading.Event()

    def keep_connecting():
        while not stop.is_set():
            try:
                answers.append(get(server.url, both).status_code)
            except httpx.HTTPError as exc:
                failures.append(exc)
            time.sleep(0.02)

    connector = threading.Thread(target=keep_connecting)
    connector.start()
    try:
        since = len(server.lines)
        for name in ("key", "cert"):
            source = pki / f"other-server-{name}.pem"
            shutil.copy(source, live / f"{name}.new")
            os.replace(live / f"{name}.new", live / f"{name}.pem")
        reloaded = wait_for_new(server, since, "TLS certificate reloaded")
        assert reloaded["fields"] == {
            "message": "TLS certificate reloaded",
            "listener": "primary",
            "cert": str(live / "cert.pem"),
        }
        assert served_issuer(server.port, both) == "Other CA"
        # An invalid new pair (the old key again) is refused; the new stays.
        since = len(server.lines)
        shutil.copy(pki / "server-key.pem", live / "key.new")
        os.replace(live / "key.new", live / "key.pem")
        refused = wait_for_new(
            server, since, "TLS certificate changed but is invalid, keeping the "
            "current one",
        )  # fmt: skip
        assert refused["level"] == "WARN"
        assert "does not match" in refused["fields"]["error"]
        assert served_issuer(server.port, both) == "Other CA"
    finally:
        stop.set()
        connector.join()
    assert failures == [] and len(answers) > 5 and set(answers) == {200}
    assert kept_open.get(f"{server.url}/health").status_code == 200
    kept_open.close()
