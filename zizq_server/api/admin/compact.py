"""``POST /compact``: a full compaction, off the event loop (spec 6.2).

``Store.compact`` writes the pending batch on the loop's thread and runs
RocksDB's ``compact_range`` in a worker thread, which releases the GIL, so
the server keeps serving while it runs. 204 once it is done; 500 with an
empty body if it fails.
"""

import logging

from zizq_server.runtime import runtime

logger = logging.getLogger("zizq.api.admin")


async def compact(request):
    await request.body()
    try:
        await runtime.store.compact()
    except Exception:
        logger.exception("compaction failed")
        return 500, None
    return 204, None
