"""Fixtures that start real ``zizq serve`` processes (marked slow)."""

import pytest

from tests.zizq_server.licence.keys import pro_licence_args

from .server import ServerProcess


@pytest.fixture
def make_server(tmp_path):
    """Start servers with extra flags; every one is stopped afterwards."""
    servers = []

    def start(*args, env=None, root_dir=None):
        root = root_dir or str(tmp_path / f"root{len(servers)}")
        server = ServerProcess(root, args, env).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def pro_server(tmp_path_factory):
    """A server with a pro licence (a test issuer), shared by a module."""
    directory = tmp_path_factory.mktemp("pro")
    server = ServerProcess(str(directory / "root"), pro_licence_args(directory)).start()
    yield server
    server.kill()


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.slow)
