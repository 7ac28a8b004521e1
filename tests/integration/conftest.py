"""Fixtures that start real ``zizq serve`` processes (marked slow)."""

import pytest

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


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.slow)
