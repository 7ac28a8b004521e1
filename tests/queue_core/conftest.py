"""Fixtures that hand a test each twin of a compiled hot path.

``<package>_impl`` is parametrized over ``["cy", "py"]``: the compiled
module and its pure-Python reference, imported directly rather than through
the package selector, so both run whatever ``ZIZQ_NO_EXTENSIONS`` says.
``cy_<package>`` is the compiled module alone, for tests that compare it
with the reference. A missing extension fails (a normal install builds it);
only ``ZIZQ_NO_EXTENSIONS=1`` leaves the compiled side out.

The fixtures are session-scoped because they only return modules, and
Hypothesis rejects function-scoped fixtures under ``@given``.
"""

import importlib
import os

import pytest

IMPLS = ["cy", "py"]


def _twin(package: str, impl: str):
    name = f"queue_core.{package}._{impl}"
    if impl == "cy" and os.environ.get("ZIZQ_NO_EXTENSIONS"):
        pytest.skip("ZIZQ_NO_EXTENSIONS=1: the compiled twin is not under test")
    return importlib.import_module(name)


@pytest.fixture(scope="session", params=IMPLS)
def index_impl(request):
    return _twin("index", request.param)


@pytest.fixture(scope="session", params=IMPLS)
def codec_impl(request):
    return _twin("codec", request.param)


@pytest.fixture(scope="session", params=IMPLS)
def scheduling_impl(request):
    return _twin("scheduling", request.param)


@pytest.fixture(scope="session")
def cy_index():
    return _twin("index", "cy")


@pytest.fixture(scope="session")
def cy_codec():
    return _twin("codec", "cy")


@pytest.fixture(scope="session")
def cy_scheduling():
    return _twin("scheduling", "cy")
