"""The licence key file watcher: hot reload of an ``@file`` key (5.2).

Every ``interval_ms`` the file is read again by its path, so replacing the
file (a new inode) and re-pointing a symlink are seen like an edit in
place. Contents are trimmed and compared with the last contents seen:

* unreadable -> WARN ``failed to re-read license key file`` (the licence
  in force stays, and the file is tried again next time);
* unchanged -> nothing;
* changed and valid -> INFO ``license key file changed, updating license``,
  the ``license validated`` line, and the new licence in force at once;
* changed and invalid (garbage, expired, another issuer) -> WARN
  ``license key file changed but new token is invalid, keeping current
  license``, once per change.

The last contents start as the token loaded at start-up, so a file
rewritten between start-up and the first pass is still noticed. A new
token is verified against the same trusted issuer keys as the first.
"""

import asyncio

from queue_core.clock import Clock

from .key import LicenceKey, describe_unreadable, read_token
from .report import log_licence, logger
from .state import LicenceState
from .verify import LicenceError, verify


def log_started(path: str, interval_ms: int) -> None:
    fields = {"path": path, "interval_secs": interval_ms // 1000}
    logger.info("license key file watcher started", extra={"fields": fields})


async def run(
    key: LicenceKey,
    interval_ms: int,
    state: LicenceState,
    clock: Clock,
    shutdown: asyncio.Event,
) -> None:
    """Re-read ``key.path`` every ``interval_ms`` until ``shutdown`` is set."""
    last = key.token
    while not shutdown.is_set():
        try:
            await asyncio.wait_for(shutdown.wait(), interval_ms / 1000)
            return
        except TimeoutError:
            pass
        last = check(key, last, state, clock)


def check(key: LicenceKey, last: str, state: LicenceState, clock: Clock) -> str:
    """One pass: read, compare, maybe replace; returns the contents seen."""
    try:
        token = read_token(key.path)
    except (OSError, UnicodeError) as exc:
        fields = {"path": key.path, "error": describe_unreadable(exc)}
        logger.warning("failed to re-read license key file", extra={"fields": fields})
        return last
    if token == last:
        return last
    try:
        licence = verify(token, key.keys, clock())
    except LicenceError as exc:
        logger.warning(
            "license key file changed but new token is invalid, keeping current "
            "license",
            extra={"fields": {"error": exc.message}},
        )
        return token
    logger.info("license key file changed, updating license")
    log_licence(licence, clock())
    state.replace(licence)
    return token
