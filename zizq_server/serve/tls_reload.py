"""Certificate rotation without a restart (beyond spec 4, which reads the
files once): each TLS listener's files are watched like the licence file.

Every ``interval_s`` the cert, key and client CA files are looked at
(inode, mtime, size: a rename into place and an edit alike change it). On
a change the files are loaded again (``tls.load``):

* valid -> INFO ``TLS certificate reloaded listener="primary" cert=<path>``,
  and new connections get the new context (``ListenerTls.context``);
  connections already open keep theirs;
* invalid (a key that does not match yet, a half-written file, a missing
  one) -> WARN ``TLS certificate changed but is invalid, keeping the
  current one`` with the reason, once per change: a pair written one file
  at a time reloads when its second file lands.
"""

import asyncio
import logging

from ..logging import Quoted
from .tls import TlsError, load
from .tls_transport import ListenerTls

logger = logging.getLogger("zizq.serve.tls")
INTERVAL_S = 1.0


async def run(
    listeners: list[ListenerTls], shutdown: asyncio.Event, interval_s=INTERVAL_S
) -> None:
    """Check ``listeners``' files every ``interval_s`` until ``shutdown``."""
    while not shutdown.is_set():
        try:
            await asyncio.wait_for(shutdown.wait(), interval_s)
            return
        except TimeoutError:
            pass
        for tls in listeners:
            check(tls)


def check(tls: ListenerTls) -> None:
    """One look at ``tls``'s files; reload them when they changed."""
    signature = tls.files.signature()
    if signature == tls.signature:
        return
    tls.signature = signature
    try:
        context = load(tls.files, tls.session_id)
    except TlsError as exc:
        fields = {"listener": Quoted(tls.name), "error": str(exc)}
        logger.warning(
            "TLS certificate changed but is invalid, keeping the current one",
            extra={"fields": fields},
        )
        return
    tls.context = context
    fields = {"listener": Quoted(tls.name), "cert": tls.files.cert}
    logger.info("TLS certificate reloaded", extra={"fields": fields})
