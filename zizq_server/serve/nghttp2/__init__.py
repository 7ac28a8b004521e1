"""libnghttp2 for HTTP/2 connections, when the binding was built.

``Session`` is the compiled binding's (``_cy``, see its docstring), or None
when it is missing (no libnghttp2 at build time) or ``ZIZQ_NO_EXTENSIONS=1``
forbids it: HTTP/2 connections then run on hyper-h2 (``serve.h2``), the
twin that serves identically. ``IMPLEMENTATION`` says which ("cython" or
"python"); tests/zizq_server/test_h2_native.py turns a missing build into
a failure, as tests/queue_core/test_extensions_loaded.py does for the
engine's.
"""

import os

Session = None
SessionError = None
IMPLEMENTATION = "python"

if not os.environ.get("ZIZQ_NO_EXTENSIONS"):
    try:
        from ._cy import Session, SessionError
    except ImportError:  # pragma: no cover - depends on the build
        pass
    else:
        IMPLEMENTATION = "cython"
