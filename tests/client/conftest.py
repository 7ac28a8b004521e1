"""Fixtures for the client's tests: clients of every transport and format
against the module's real server (the ``zizq_server`` fixture of the
client's pytest plugin), reset before each test; and the arguments that
give a server a pro licence minted by the tests (the server's own tests'
issuer, ``tests/zizq_server/licence/keys.py``)."""

import pytest
import zizq_client as zizq
from zizq_client.testing.server import ZizqServer

from tests.zizq_server.licence.keys import pro_licence_args

TRANSPORTS = [
    pytest.param(("msgpack", False), id="msgpack-h1"),
    pytest.param(("json", False), id="json-h1"),
    pytest.param(("msgpack", True), id="msgpack-h2"),
    pytest.param(("json", True), id="json-h2"),
]


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


@pytest.fixture
def client(zizq_server, transport):
    fmt, http2 = transport
    with zizq.Client(url=zizq_server.url, format=fmt, http2=http2) as c:
        c.reset()
        yield c


@pytest.fixture
def plain_client(zizq_server):
    with zizq.Client(url=zizq_server.url) as c:
        c.reset()
        yield c


@pytest.fixture(scope="session")
def licence_args(tmp_path_factory):
    """``zizq serve`` arguments for a pro licence valid for a day."""
    return pro_licence_args(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def pro_server(licence_args):
    """A real server with a pro licence, shared by the tests of a module."""
    with ZizqServer(args=licence_args) as server:
        yield server


@pytest.fixture
def pro_client(pro_server, transport):
    fmt, http2 = transport
    with zizq.Client(url=pro_server.url, format=fmt, http2=http2) as c:
        c.reset()
        yield c
