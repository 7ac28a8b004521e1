"""Transport and content negotiation against a real server (API.md 1-2)."""

import base64
import os
import re
import socket

import msgpack
import pytest
import websockets.exceptions
import websockets.sync.client


def test_health_answers_json(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.content == b'{"status":"ok"}'


def test_version_is_semver(client):
    version = client.get("/version").json()["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)


@pytest.mark.parametrize(
    "accept, kind",
    [
        ("*/*", "json"),
        ("application/json", "json"),
        ("text/html,*/*;q=0.8", "json"),
        ("application/msgpack", "msgpack"),
        ("application/json, application/msgpack;q=0.1", "msgpack"),
    ],
)
def test_accept_header_chooses_format_by_substring(client, accept, kind):
    r = client.get("/health", headers={"accept": accept})
    assert r.status_code == 200
    if kind == "json":
        assert r.json() == {"status": "ok"}
    else:
        assert r.headers["content-type"] == "application/msgpack"
        assert msgpack.unpackb(r.content) == {"status": "ok"}


@pytest.mark.parametrize(
    "accept", ["application/xml", "application/x-ndjson", "application/*", "text/html"]
)
def test_unsupported_accept_is_406_json(client, accept):
    r = client.get("/health", headers={"accept": accept})
    assert r.status_code == 406
    assert r.json() == {
        "error": "not acceptable",
        "supported": ["application/json", "application/msgpack"],
    }


def test_unknown_path_is_404_and_bad_accept_wins(client):
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.json() == {"error": "not found"}
    assert client.get("/nope", headers={"accept": "text/html"}).status_code == 406


def test_known_path_wrong_method_is_405(client):
    r = client.put("/jobs")
    assert r.status_code == 405
    assert r.content == b""
    assert "allow" in r.headers
    assert client.delete("/jobs/count").status_code == 405


def test_unsupported_content_type_is_415(client):
    r = client.post(
        "/jobs", content=b"<job/>", headers={"content-type": "application/xml"}
    )
    assert r.status_code == 415
    assert r.json()["error"] == "unsupported media type"
    assert r.json()["supported"] == ["application/json", "application/msgpack"]


def test_missing_content_type_parses_json(client):
    r = client.post("/jobs", content=b'{"queue":"q","type":"t","payload":1}')
    assert r.status_code == 201


@pytest.mark.parametrize(
    "body", [b"not json", b"", b"[", b'{"queue":"q"', b"\xff\xfe", b"null", b"[]"]
)
def test_malformed_json_bodies_are_400(client, body):
    r = client.post("/jobs", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("invalid JSON:")


def test_msgpack_request_and_response(client):
    body = msgpack.packb({"queue": "q", "type": "t", "payload": {"a": [1, 2]}})
    r = client.post(
        "/jobs",
        content=body,
        headers={"content-type": "application/msgpack", "accept": "application/msgpack"},
    )
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/msgpack"
    job = msgpack.unpackb(r.content)
    got = client.get(f"/jobs/{job['id']}").json()
    assert got["payload"] == {"a": [1, 2]}


@pytest.mark.parametrize(
    "payload", [b"\x01\x02", msgpack.ExtType(1, b"x"), {"k": b"bytes"}]
)
def test_msgpack_binary_and_ext_payloads_are_400(client, payload):
    body = msgpack.packb({"queue": "q", "type": "t", "payload": payload})
    r = client.post("/jobs", content=body, headers={"content-type": "application/msgpack"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("invalid MessagePack:")


def test_garbage_msgpack_is_400(client):
    r = client.post(
        "/jobs", content=b"\xc1\xc1", headers={"content-type": "application/msgpack"}
    )
    assert r.status_code == 400
    assert r.json()["error"].startswith("invalid MessagePack:")


def test_responses_are_compact_without_nulls(client):
    r = client.post("/jobs", json={"queue": "q", "type": "t", "payload": {"a": 1}})
    assert b" " not in r.content and b"null" not in r.content


def test_h2c_prior_knowledge_serves_the_api(server):
    with server.h2_client() as h2:
        r = h2.get("/health")
        assert r.http_version == "HTTP/2"
        assert r.json() == {"status": "ok"}
        created = h2.post("/jobs", json={"queue": "q", "type": "t", "payload": 1})
        assert created.status_code == 201
        assert h2.delete(f"/jobs/{created.json()['id']}").status_code == 204


def test_204_responses_have_no_body_on_http1_and_h2(server):
    with server.client() as c, server.h2_client() as h2:
        for http in (c, h2):
            job = http.post("/jobs", json={"queue": "q", "type": "t", "payload": 1})
            r = http.delete(f"/jobs/{job.json()['id']}")
            assert r.status_code == 204
            assert r.content == b""
            assert "content-type" not in r.headers
            r = http.post("/reset")
            assert r.status_code == 204 and r.content == b""


def test_cron_endpoints_are_403_on_free_tier_after_body_checks(client):
    assert client.get("/crons").status_code == 403
    assert client.get("/crons").json() == {
        "error": "cron scheduling requires a pro license"
    }
    r = client.put("/crons/g", content=b"not json")
    assert r.status_code == 400
    r = client.put("/crons/g", json={"entries": []})
    assert r.status_code == 403


# -- WebSocket upgrades the server does not serve ----------------------------


def upgrade_request(path: str, version: bytes = b"13") -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: " + version + b"\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\n\r\n"
    )


def raw_reply(port: int, request: bytes) -> bytes:
    """Everything the server sends back before it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def errors_logged(server) -> list:
    return [r for r in server.lines if r.get("level") not in ("INFO", "DEBUG", "TRACE")]


@pytest.mark.parametrize(
    "listener, path",
    [
        ("primary", "/events"),  # the admin listener's feed, not the primary's
        *((listener, path) for listener in ("primary", "admin")
          for path in ("/", "/jobs/take", "/nope?x=1", "/events/x")),
    ],
)
def test_an_unserved_websocket_is_refused_with_403(server, listener, path):
    port = server.port if listener == "primary" else server.admin_port
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        websockets.sync.client.connect(f"ws://127.0.0.1:{port}{path}", open_timeout=5)
    assert refused.value.response.status_code == 403
    assert raw_reply(port, upgrade_request(path)).startswith(b"HTTP/1.1 403 ")
    assert errors_logged(server) == []


def test_a_burst_of_refused_upgrades_leaves_the_server_serving(server, client):
    for port in (server.port, server.admin_port) * 50:
        assert raw_reply(port, upgrade_request("/nope")).startswith(b"HTTP/1.1 403")
    # Handshakes autobahn refuses before the application sees them.
    for request in (upgrade_request("/nope", b"99"), upgrade_request("/", b"")):
        assert raw_reply(server.port, request).startswith(b"HTTP/1.1 400")
    assert client.get("/health").json() == {"status": "ok"}
    server.stop()
    assert errors_logged(server) == []
    assert b"Traceback" not in server.proc.stderr.read()
