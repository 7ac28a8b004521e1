"""Scheduling arithmetic: compiled implementation if built, else Python."""

import os

from . import _py

IMPLEMENTATION = "python"
_impl = _py
if not os.environ.get("ZIZQ_NO_EXTENSIONS"):
    try:
        from . import _cy as _impl  # type: ignore[no-redef]

        IMPLEMENTATION = "cython"
    except ImportError:  # pragma: no cover - depends on the build
        _impl = _py

backoff_delay_ms = _impl.backoff_delay_ms
purge_at_ms = _impl.purge_at_ms

__all__ = ["IMPLEMENTATION", "backoff_delay_ms", "purge_at_ms"]
