"""Pro licences against a real server (ADMIN_AND_CLI.md 5, API.md 2.8).

The tests mint their own keys and trust their issuer with
``--license-public-key``. Expiry while running is reached by waiting for it
(a token a few seconds from its end), or at once with a token expired less
than the 60 s leeway ago: such a token loads, but every gated operation
finds it expired.
"""

import os
import time

import pytest

from tests.zizq_server.licence.keys import Issuer
from tests.zizq_server.test_cli import run

JOB = {"queue": "q", "type": "t", "payload": 1}
UNIQUE = {**JOB, "unique_key": "k"}
BATCH = {**JOB, "batch": {"key": "b", "when": "true", "fold": "$new"}}


def expired(feature: str) -> str:
    return f"License expired. {feature} requires a pro license."


@pytest.fixture(scope="module")
def issuer():
    return Issuer()


@pytest.fixture
def public_key(issuer, tmp_path):
    return issuer.write_public_key(tmp_path / "issuer.pem")


@pytest.fixture
def token(issuer):
    def mint(seconds_left: int = 365 * 86_400, **claims) -> str:
        return issuer.token(exp=int(time.time()) + seconds_left, **claims)

    return mint


@pytest.fixture
def key_file(tmp_path):
    def write(token: str, name: str = "licence.jwt"):
        path = tmp_path / name
        path.write_text(f"{token}\n")
        return path

    return write


def errors(client) -> dict:
    """What each gated operation answers: (status, error), or "allowed"."""
    answers = {
        "unique": client.post("/jobs", json=UNIQUE),
        "batch": client.post("/jobs", json=BATCH),
        "bulk": client.post("/jobs/bulk", json={"jobs": [JOB, UNIQUE]}),
        "cron": client.get("/crons/missing"),
    }
    return {
        name: "allowed" if r.is_success else (r.status_code, r.json()["error"])
        for name, r in answers.items()
    }


def licensed() -> dict:
    return {
        "unique": "allowed",
        "batch": "allowed",
        "bulk": "allowed",
        "cron": (404, "cron group 'missing' not found"),
    }


def lapsed() -> dict:
    return {
        "unique": (403, expired("unique jobs")),
        "batch": (403, expired("batched jobs")),
        "bulk": (403, expired("unique jobs")),
        "cron": (403, expired("cron scheduling")),
    }


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def test_pro_key_file_lines_and_gates(make_server, token, key_file, public_key):
    """LIC-02, LIC-03; pro features pass the licence check."""
    path = key_file(token(tier="pro", name="Acme Corp"))
    server = make_server("-k", f"@{path}", "--license-public-key", public_key)
    assert server.messages()[:4] == [
        "trusting an additional license issuer key",
        "license validated",
        "store opened",
        "in-memory indexes rebuilt",
    ]
    trusting, validated = server.lines[:2]
    assert trusting["level"] == "WARN"
    assert trusting["fields"]["path"] == public_key
    fields = validated["fields"]
    assert (fields["licensee"], fields["tier"]) == ("Acme Corp", "pro")
    assert fields["expires_at"] > time.time()
    assert fields["remaining"].startswith("11months 30days ")
    watcher = server.wait_for_log("license key file watcher started")["fields"]
    assert (watcher["path"], watcher["interval_secs"]) == (str(path), 5)
    messages = server.messages()
    assert messages.index("license key file watcher started") < messages.index(
        "admin API listening"
    )
    with server.client() as client:
        assert errors(client) == licensed()
        r = client.post("/jobs", json={**JOB, "unique_while": "queued"})
        assert r.json() == {"error": "unique_while requires unique_key"}
        assert client.post("/jobs", json=JOB).status_code == 201


def test_enterprise_raw_key_from_the_environment(make_server, token, public_key):
    """LIC-04, LIC-09: no watcher for a raw token."""
    server = make_server(
        env={
            "ZIZQ_LICENSE_KEY": token(tier="enterprise"),
            "ZIZQ_LICENSE_PUBLIC_KEY": public_key,
        }
    )
    assert server.lines[1]["fields"]["tier"] == "enterprise"
    assert "license key file watcher started" not in server.messages()
    with server.client() as client:
        assert errors(client) == licensed()


def test_no_watcher_when_the_interval_is_zero(make_server, token, key_file, public_key):
    path = key_file(token())
    server = make_server(
        "-k", f"@{path}", "--license-public-key", public_key,
        "--license-key-check-interval", "0",
    )
    assert "license key file watcher started" not in server.messages()


def test_expiry_while_running_degrades_to_free_tier(
    make_server, token, key_file, public_key
):
    """LIC-08: a token seconds from its end, then the 403s without restart."""
    path = key_file(token(seconds_left=3))
    server = make_server("-k", f"@{path}", "--license-public-key", public_key)
    with server.client() as client:
        wait_until(lambda: client.get("/crons").status_code == 403)
        assert errors(client) == lapsed()
        assert client.post("/jobs", json=JOB).status_code == 201


def test_a_key_expired_within_the_leeway_loads_but_gates_nothing(
    make_server, token, key_file, public_key
):
    path = key_file(token(seconds_left=-30))
    server = make_server(
        "-k", f"@{path}", "--license-public-key", public_key,
        "--license-key-check-interval", "100ms",
    )
    assert server.lines[1]["fields"]["remaining"] == "0s"
    with server.client() as client:
        assert errors(client) == lapsed()
        # A valid key loaded later restores everything, without a restart.
        key_file(token())
        server.wait_for_log("license key file changed, updating license")
        wait_until(lambda: client.get("/crons").status_code == 200)
        assert errors(client) == licensed()


def test_key_file_rotation(make_server, token, key_file, public_key, tmp_path):
    """LIC-06, LIC-07: rewrite in place, garbage, replace, unreadable."""
    path = key_file(token(tier="pro"))
    server = make_server(
        "-k", f"@{path}", "--license-public-key", public_key,
        "--license-key-check-interval", "100ms",
    )
    assert server.wait_for_log("license key file watcher started")["fields"][
        "interval_secs"
    ] == 0
    with server.client() as client:
        path.write_text("garbage\n")
        warning = server.wait_for_log(
            "license key file changed but new token is invalid, keeping current license"
        )
        assert warning["level"] == "WARN"
        assert warning["fields"]["error"] == "license validation failed: InvalidToken"
        assert errors(client) == licensed()

        staged = key_file(token(tier="enterprise", name="Globex Inc"), "staged.jwt")
        os.replace(staged, path)
        server.wait_for_log("license key file changed, updating license")
        wait_until(
            lambda: any(
                r["fields"].get("licensee") == "Globex Inc" for r in server.lines
            )
        )
        validated = [r for r in server.lines if r["fields"].get("licensee")]
        assert validated[-1]["fields"]["tier"] == "enterprise"

        path.unlink()
        unreadable = server.wait_for_log("failed to re-read license key file")
        assert unreadable["fields"] == {
            "message": "failed to re-read license key file",
            "path": str(path),
            "error": "No such file or directory (os error 2)",
        }
        assert errors(client) == licensed()


def test_symlink_re_pointing(make_server, token, key_file, public_key, tmp_path):
    short = key_file(token(seconds_left=-30), "old.jwt")
    fresh = key_file(token(), "new.jwt")
    link = tmp_path / "current.jwt"
    link.symlink_to(short)
    server = make_server(
        "-k", f"@{link}", "--license-public-key", public_key,
        "--license-key-check-interval", "100ms",
    )
    with server.client() as client:
        assert errors(client) == lapsed()
        staged = tmp_path / "staged"
        staged.symlink_to(fresh)
        os.replace(staged, link)
        wait_until(lambda: client.get("/crons").status_code == 200)
        assert errors(client) == licensed()


def serve(*args, env=None):
    return run("serve", "--port", "0", "--admin-port", "0", *args, env=env)


@pytest.mark.parametrize(
    "claims, detail",
    [
        ({"seconds_left": -120}, "license validation failed: ExpiredSignature"),
        ({"tier": "gold"}, "unknown license tier: gold"),
        ({"drop": ["name"]}, "license validation failed: Missing required claim: name"),
        ({"drop": ["sub"]}, "license validation failed: Missing required claim: sub"),
        ({"drop": ["tier"]}, "license validation failed: JSON error: missing field `tier`"),
    ],
    ids=["expired", "unknown-tier", "no-name", "no-sub", "no-tier"],
)
def test_invalid_keys_are_fatal_at_start_up(token, public_key, tmp_path, claims, detail):
    """LIC-05."""
    root = tmp_path / "never"
    result = serve(
        "--root-dir", str(root), "-k", token(**claims),
        "--license-public-key", public_key,
    )
    assert result.returncode == 1
    assert result.stderr.endswith(f"Error: invalid license key: {detail}\n")
    assert not root.exists()


def test_a_key_of_an_untrusted_issuer_is_fatal(token, tmp_path):
    result = serve("--root-dir", str(tmp_path / "r"), "-k", token())
    assert result.returncode == 1
    assert result.stderr.endswith(
        "Error: invalid license key: license validation failed: InvalidSignature\n"
    )


@pytest.mark.parametrize("prefix", ["", "admin-"])
def test_mtls_needs_a_live_pro_licence(token, key_file, public_key, tmp_path, prefix):
    tls = (
        f"--{prefix}tls-cert", "cert.pem", f"--{prefix}tls-key", "key.pem",
        f"--{prefix}tls-client-ca", "ca.pem",
    )
    what = "admin mTLS" if prefix else "mTLS"
    free = serve("--root-dir", str(tmp_path / "free"), *tls)
    assert free.returncode == 1
    assert free.stderr.endswith(
        f"Error: cannot enable {what}: mutual TLS requires a pro license\n"
    )
    lapsed_key = serve(
        "--root-dir", str(tmp_path / "lapsed"), *tls,
        "-k", token(seconds_left=-30), "--license-public-key", public_key,
    )
    assert lapsed_key.returncode == 1
    assert lapsed_key.stderr.endswith(
        f"Error: cannot enable {what}: License expired. mutual TLS requires a pro "
        "license.\n"
    )
