"""Debug-level job events (ADMIN_AND_CLI.md 3.4): one record per job change.

``job enqueued``, ``job dispatched``, ``job marked completed``, ``job failure
recorded`` and ``job requeued`` are logged under ``zizq.store`` (shown as
``zizq::store``). Callers ask ``enabled()`` before building anything, so at
the default ``info`` level the hot paths pay a cached level check and no
more.
"""

import logging

from ..types import STATUS_NAMES

logger = logging.getLogger("zizq.store")


def enabled() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


def job_event(message: str, job, **fields) -> None:
    """Log ``message`` for ``job`` with its id, queue and current status."""
    fields = {
        "id": job.id,
        "queue": job.queue,
        "status": STATUS_NAMES[job.status],
        **fields,
    }
    logger.debug(message, extra={"fields": fields})
