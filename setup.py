"""Build script: the compiled twins of the hot paths, nothing else.

Metadata lives in pyproject.toml. Each ``queue_core/<package>/_cy.pyx``
becomes one extension beside its pure-Python twin ``_py.py``, which the
package's ``__init__`` falls back to when the extension is missing; so does
``zizq_server/logline/_cy.pyx``, the log lines' pieces.
``zizq_server/serve/nghttp2/_cy.pyx`` binds libnghttp2 and is built only
when ``pkg-config`` finds the library (Debian's ``libnghttp2-dev``,
scripts/debian-packages); without it HTTP/2 runs on hyper-h2
(``zizq_server.serve.h2c``).

``ZIZQ_NO_EXTENSIONS=1`` builds no extension (a pure install that runs on
the twins); ``ZIZQ_CYTHON_ANNOTATE=1`` writes Cython's HTML reports next to
the sources.
"""

import os
import shutil
import subprocess
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


def nghttp2_flags() -> dict | None:
    """Compiler and linker flags for libnghttp2, or None without it."""
    if shutil.which("pkg-config") is None:
        return None
    found = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libnghttp2"],
        capture_output=True, text=True,
    )
    if found.returncode != 0:
        return None
    flags = found.stdout.split()
    return {
        "include_dirs": [flag[2:] for flag in flags if flag.startswith("-I")],
        "library_dirs": [flag[2:] for flag in flags if flag.startswith("-L")],
        "libraries": [flag[2:] for flag in flags if flag.startswith("-l")],
    }


def ext_modules() -> list:
    if os.environ.get("ZIZQ_NO_EXTENSIONS"):
        return []
    from Cython.Build import cythonize

    annotate = bool(os.environ.get("ZIZQ_CYTHON_ANNOTATE"))

    extensions = [
        Extension(
            f"queue_core.{package}._cy",
            [f"queue_core/{package}/_cy.pyx"],
            extra_compile_args=COMPILE_ARGS,
        )
        for package in HOT_PATHS
    ]
    extensions.append(
        Extension(
            "zizq_server.logline._cy",
            ["zizq_server/logline/_cy.pyx"],
            extra_compile_args=COMPILE_ARGS,
        )
    )
    nghttp2 = nghttp2_flags()
    if nghttp2 is not None:
        extensions.append(
            Extension(
                "zizq_server.serve.nghttp2._cy",
                ["zizq_server/serve/nghttp2/_cy.pyx"],
                extra_compile_args=COMPILE_ARGS,
                **nghttp2,
            )
        )
    return cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        annotate=annotate,
        force=annotate,  # up-to-date sources would otherwise get no report
    )


setup(ext_modules=ext_modules())
