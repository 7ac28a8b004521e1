"""In-memory indexes: compiled implementation if built, else the Python twin.

``ZIZQ_NO_EXTENSIONS=1`` forces the Python reference. Both classes are
exported under their own names so tests can run them side by side.
"""

import os

from ._py import ReadyIndex as PyReadyIndex
from ._py import TimeIndex as PyTimeIndex

IMPLEMENTATION = "python"
ReadyIndex = PyReadyIndex
TimeIndex = PyTimeIndex
if not os.environ.get("ZIZQ_NO_EXTENSIONS"):
    try:
        from ._cy import ReadyIndex, TimeIndex  # type: ignore[no-redef]

        IMPLEMENTATION = "cython"
    except ImportError:  # pragma: no cover - depends on the build
        pass

__all__ = [
    "IMPLEMENTATION",
    "ReadyIndex",
    "TimeIndex",
    "PyReadyIndex",
    "PyTimeIndex",
]
