"""Build script: the compiled twins of the engine's hot paths, nothing else.

Metadata lives in pyproject.toml. Each ``queue_core/<package>/_cy.pyx``
becomes one extension beside its pure-Python twin ``_py.py``, which the
package's ``__init__`` falls back to when the extension is missing.

``ZIZQ_NO_EXTENSIONS=1`` builds no extension (a pure install that runs on
the twins); ``ZIZQ_CYTHON_ANNOTATE=1`` writes Cython's HTML reports next to
the sources.
"""

import os
import sys

from setuptools import Extension, setup

HOT_PATHS = ("codec", "duplicates", "index", "scheduling")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}

# The twins must round like CPython, which never fuses a multiply and an add
# (GCC does by default where the target has FMA, e.g. aarch64).
COMPILE_ARGS = [] if sys.platform == "win32" else ["-ffp-contract=off"]


def ext_modules() -> list:
    if os.environ.get("ZIZQ_NO_EXTENSIONS"):
        return []
    from Cython.Build import cythonize

    annotate = bool(os.environ.get("ZIZQ_CYTHON_ANNOTATE"))

    return cythonize(
        [
            Extension(
                f"queue_core.{package}._cy",
                [f"queue_core/{package}/_cy.pyx"],
                extra_compile_args=COMPILE_ARGS,
            )
            for package in HOT_PATHS
        ],
        compiler_directives=DIRECTIVES,
        annotate=annotate,
        force=annotate,  # up-to-date sources would otherwise get no report
    )


setup(ext_modules=ext_modules())
