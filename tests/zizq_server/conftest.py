"""Shared set-up for zizq_server tests: Django configured from our settings,
and the raw ASGI helper server with one listener (test_daphne_h2c.py runs
its own, with two)."""

import os
from types import SimpleNamespace

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zizq_server.settings")
django.setup()

from tests.zizq_server.test_daphne_h2c import ServerProcess  # noqa: E402


@pytest.fixture
def settings_from():
    """Build a settings-like object from an environment mapping."""
    from zizq_server.settings import read_environment

    def build(environment=None):
        reading = read_environment(environment or {})
        return SimpleNamespace(
            ZIZQ=reading.values,
            ZIZQ_EXPLICIT=reading.explicit,
            ZIZQ_ERRORS=reading.errors,
        )

    return build


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The helper server (a primary listener only), quiet to the end."""
    process = ServerProcess(tmp_path_factory.mktemp("markers"), "primary=127.0.0.1:0")
    process.wait_ready()
    yield process
    assert process.stop_and_read_stderr() == ""


@pytest.fixture
def lone_server(tmp_path):
    """A helper server of the test's own, for a test that reads what it
    logged (``stop_and_read_stderr``)."""
    process = ServerProcess(tmp_path, "primary=127.0.0.1:0")
    process.wait_ready()
    yield process
    process.stop()
