"""Fixtures for the client's tests: clients of every transport and format
against the module's real server (the ``zizq_server`` fixture of the
client's pytest plugin), reset before each test."""

import pytest
import zizq_client as zizq

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
