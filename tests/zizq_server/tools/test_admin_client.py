"""The admin client's option checks, made before any connection."""

import pytest

from zizq_server.tools import ToolError
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
        ("https://127.0.0.1:8901", "https admin URLs are not supported yet"),
        ("ftp://127.0.0.1:8901", "invalid admin URL: ftp://127.0.0.1:8901"),
        ("http://127.0.0.1:notaport", "invalid admin URL"),
    ],
)
def test_unusable_urls_are_refused(url, message):
    with pytest.raises(ToolError, match=message):
        AdminEndpoint(url=url).post("backup", "backup")
