"""``/crons...``: cron scheduling (API.md 7.6), a pro feature.

One module per resource: ``groups`` (``/crons``, ``/crons/{group}``) and
``entries`` (``/crons/{group}/entries...``); ``bodies`` decodes and
validates definitions, ``render`` shapes the responses. Every handler asks
the licence in force right after the generic request checks (``Accept``,
then, where there is a body, ``Content-Type`` and a decodable, complete
body: API.md 7.6 says those come first even on the free tier) and before
any name check or lookup, so a free-tier request for a missing group is a
403, not a 404.
"""

from queue_core.errors import Forbidden

from ....licence import CRON_SCHEDULING
from ....runtime import runtime


def check_licence() -> None:
    refusal = runtime.licence.refusal(CRON_SCHEDULING)
    if refusal is not None:
        raise Forbidden(refusal)
