"""``/crons...``: cron scheduling is a pro feature (API.md 7.6).

Every cron endpoint asks the licence in force after the generic request
checks: ``Accept`` (406, done by the app) and, on endpoints that take a
body, ``Content-Type`` (415) and a decodable body (400). Without a live
licence that is the 403 of API.md 2.8; with one, cron scheduling is not
built yet, and the endpoint says so with a 400 rather than pretending.
"""

from queue_core.errors import Forbidden, InvalidInput

from ...licence import CRON_SCHEDULING
from ...runtime import runtime

NOT_BUILT = "cron scheduling is not supported by this server yet"


async def gated(request):
    refusal = runtime.licence.refusal(CRON_SCHEDULING)
    if refusal is not None:
        raise Forbidden(refusal)
    raise InvalidInput(NOT_BUILT)


async def gated_after_body(request):
    await request.decoded_body()
    return await gated(request)
