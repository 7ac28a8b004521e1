"""Pro licences: verification, the state in force, and the key file watcher.

Licences are server state (DESIGN.md 6): nothing here is imported by
``queue_core``. ``key.load`` verifies the ``-k`` value before any command
runs; ``serve`` then logs it (``report``), puts it in a ``LicenceState``
that every gated operation asks, and, for an ``@file`` key, runs
``watcher.run`` to hot-reload it.
"""

from . import watcher
from .key import LicenceKey, load
from .report import format_duration, log_extra_issuer, log_licence
from .state import (
    BATCHED_JOBS,
    CRON_SCHEDULING,
    LIVE_QUEUE_DETAIL,
    MUTUAL_TLS,
    UNIQUE_JOBS,
    LicenceState,
)
from .verify import Licence, LicenceError

__all__ = [
    # verification
    "Licence",
    "LicenceError",
    "LicenceKey",
    "load",
    # the licence in force, and the features it gates
    "LicenceState",
    "UNIQUE_JOBS",
    "BATCHED_JOBS",
    "CRON_SCHEDULING",
    "MUTUAL_TLS",
    "LIVE_QUEUE_DETAIL",
    # log lines and hot reload
    "format_duration",
    "log_extra_issuer",
    "log_licence",
    "watcher",
]
