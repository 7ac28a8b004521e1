"""Which twin of a hot path runs: the compiled one unless told otherwise.

``codec``, ``duplicates``, ``index`` and ``scheduling`` each hold a Cython
module ``_cy`` and its pure-Python reference ``_py``. The compiled one is
chosen when it imports; ``ZIZQ_NO_EXTENSIONS=1`` forces the reference. An
import error falls back quietly: tests/queue_core/test_extensions_loaded.py
is what turns a missing build into a failure.
"""

import importlib
import os


def choose(package: str):
    """``(module, "cython" | "python")`` for the package named ``package``."""
    if not os.environ.get("ZIZQ_NO_EXTENSIONS"):
        try:
            return importlib.import_module(f"{package}._cy"), "cython"
        except ImportError:  # pragma: no cover - depends on the build
            pass
    return importlib.import_module(f"{package}._py"), "python"
