"""The compiled twins are the ones running whenever the build says they must.

Each hot-path package falls back to its Python twin quietly when its
extension does not import. A normal install builds the extensions, so a
missing or broken build fails here, with the import error, instead of
passing slowly; only ``ZIZQ_NO_EXTENSIONS=1`` may select the twins, and it
must do so even where the extensions are built.
"""

import importlib
import os
import subprocess
import sys

import pytest

import queue_core.codec
import queue_core.duplicates
import queue_core.index
import queue_core.scheduling
import zizq_server.logline

PACKAGES = [
    queue_core.codec,
    queue_core.duplicates,
    queue_core.index,
    queue_core.scheduling,
    zizq_server.logline,
]
NO_EXTENSIONS = bool(os.environ.get("ZIZQ_NO_EXTENSIONS"))


def _import_error(package) -> str:
    try:
        importlib.import_module(f"{package.__name__}._cy")
    except ImportError as exc:
        return repr(exc)
    return "none (the module imports; the selector chose Python)"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_selector_runs_the_compiled_module_unless_disabled(package):
    if NO_EXTENSIONS:
        assert package.IMPLEMENTATION == "python"
        return
    assert package.IMPLEMENTATION == "cython", (
        f"{package.__name__} runs its Python twin; import error: "
        f"{_import_error(package)}"
    )


def test_no_extensions_env_selects_python_in_a_fresh_interpreter():
    """``ZIZQ_NO_EXTENSIONS=1`` wins over built extensions."""
    names = [package.__name__ for package in PACKAGES]
    code = (
        "import importlib, sys; "
        "print(*[importlib.import_module(n).IMPLEMENTATION for n in sys.argv[1:]])"
    )
    env = dict(os.environ, ZIZQ_NO_EXTENSIONS="1")
    result = subprocess.run(
        [sys.executable, "-c", code, *names],
        env=env,
        cwd=os.path.dirname(os.path.dirname(queue_core.__file__)),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["python"] * len(names)
