"""``/crons...``: cron scheduling is a pro feature (API.md 7.6).

No licence can be loaded yet, so every cron endpoint answers 403 after the
generic request checks: ``Accept`` (406, done by the app) and, on endpoints
that take a body, ``Content-Type`` (415) and a decodable body (400).
"""

from queue_core.errors import Forbidden

CRON_FORBIDDEN = "cron scheduling requires a pro license"


async def forbidden(request):
    raise Forbidden(CRON_FORBIDDEN)


async def forbidden_after_body(request):
    await request.decoded_body()
    raise Forbidden(CRON_FORBIDDEN)
