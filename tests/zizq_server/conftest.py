"""Shared set-up for zizq_server tests: Django configured from our settings."""

import os
from types import SimpleNamespace

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zizq_server.settings")
django.setup()


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
