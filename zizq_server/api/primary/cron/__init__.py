"""``/crons...``: cron scheduling (API.md 7.6), a pro feature.

One module per resource: ``groups`` (``/crons``, ``/crons/{group}``) and
``entries`` (``/crons/{group}/entries...``); ``bodies`` decodes and
validates definitions, ``render`` shapes the responses. Every handler asks
the licence in force right after the generic request checks (``Accept``,
then, where there is a body, ``Content-Type`` and a decodable, complete
body: API.md 7.6 says those come first even on the free tier) and before
any name check or lookup, so a free-tier request for a missing group is a
403, not a 404. An unexpected failure is logged and answered with the cron
endpoints' own 500 body, ``{"error":"internal error"}`` (API.md 2.3; the
job endpoints say ``internal server error``).
"""

import functools
import logging

from queue_core.errors import Forbidden, QueueError

from ....licence import CRON_SCHEDULING
from ....runtime import runtime
from ...app import HttpError

logger = logging.getLogger("zizq.api.cron")


def check_licence() -> None:
    refusal = runtime.licence.refusal(CRON_SCHEDULING)
    if refusal is not None:
        raise Forbidden(refusal)


def endpoint(handler):
    """A cron handler whose unexpected errors become the cron 500."""

    @functools.wraps(handler)
    async def handle(request):
        try:
            return await handler(request)
        except (QueueError, HttpError):
            raise
        except Exception:
            logger.exception(
                "unhandled error",
                extra={
                    "fields": {"method": request.method, "path": request.scope["path"]}
                },
            )
            raise HttpError(500, {"error": "internal error"}) from None

    return handle
