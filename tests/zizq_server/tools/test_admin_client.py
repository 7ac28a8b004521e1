"""The admin client's option checks, made before any connection."""

import socket
import threading
import time

import pytest

from zizq_server.tools import ToolError, admin_client
from zizq_server.tools.admin_client import DEFAULT_URL, AdminEndpoint


@pytest.mark.parametrize("cert, key", [("c.pem", None), (None, "k.pem")])
def test_client_cert_and_key_must_come_together(cert, key):
    with pytest.raises(ToolError) as caught:
        AdminEndpoint(client_cert=cert, client_key=key).check()
    assert (
        str(caught.value) == "--client-cert and --client-key must be provided together"
    )


def test_default_url_is_the_real_servers():
    assert DEFAULT_URL == "http://127.0.0.1:8901"


def test_trailing_slash_is_tolerated():
    assert (
        AdminEndpoint(url="http://127.0.0.1:9/").display_url() == "http://127.0.0.1:9"
    )


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://127.0.0.1:8901", "invalid admin URL: ftp://127.0.0.1:8901"),
        ("http://127.0.0.1:notaport", "invalid admin URL"),
    ],
)
def test_unusable_urls_are_refused(url, message):
    with pytest.raises(ToolError, match=message):
        AdminEndpoint(url=url).post("backup", "backup")


def test_unreadable_tls_files_are_named(tmp_path):
    missing = tmp_path / "missing-ca.pem"
    endpoint = AdminEndpoint(url="https://127.0.0.1:9", ca_cert=str(missing))
    with pytest.raises(ToolError, match="cannot load TLS files: .*No such file"):
        endpoint.post("backup", "backup")


def test_a_plain_server_refuses_an_https_client():
    with pytest.raises(ToolError, match="backup request failed: https://"):
        AdminEndpoint(url=_slow_server(0.0).replace("http:", "https:")).post(
            "backup", "backup"
        )


def _slow_server(delay_s: float):
    """A one-shot HTTP server that answers 204 ``delay_s`` after the request."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            time.sleep(delay_s)
            connection.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_waiting_for_the_answer_never_times_out(monkeypatch):
    """A compaction answers when it is done, however long after the connect
    timeout that is."""
    monkeypatch.setattr(admin_client, "CONNECT_TIMEOUT_S", 0.05)
    response = AdminEndpoint(url=_slow_server(0.5)).post("compact", "compact")
    assert response.status == 204
    response.close()


def test_a_server_that_hangs_up_is_a_request_failure():
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def hang_up():
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.close()
        listener.close()

    threading.Thread(target=hang_up, daemon=True).start()
    with pytest.raises(ToolError) as caught:
        AdminEndpoint(url=url).post("backup", "backup")
    assert str(caught.value) == (
        f"backup request failed: {url}: Remote end closed connection without response"
    )
