"""The licence in force while serving, and the per-operation gate.

``LicenceState`` is server state, not engine state (DESIGN.md 6): handlers
read it through ``runtime.licence`` and the engine, when a pro operation
needs a gate, gets its ``allows`` as a plain ``licensed(feature) -> bool``
callable, the way it gets a clock. The watcher replaces the licence whole
(one attribute assignment, on the event loop), so a reader never sees half
of an update.

A gated operation costs one clock call and one comparison: the token was
parsed when it was loaded, and the expiry is kept in milliseconds, so the
check is ``now_ms >= expires_at * 1000`` (the real server's
``now_seconds >= exp``, with no leeway: API.md 2.8, ADMIN_AND_CLI.md 5.4).
Every pro feature needs ``pro``, which ``enterprise`` includes, so the tier
itself never needs comparing.
"""

from queue_core.clock import Clock, now_ms

from .verify import Licence

# Gated features, named as the 403 messages name them (API.md 2.8).
UNIQUE_JOBS = "unique jobs"
BATCHED_JOBS = "batched jobs"
CRON_SCHEDULING = "cron scheduling"
MUTUAL_TLS = "mutual TLS"
LIVE_QUEUE_DETAIL = "live queue detail"


class LicenceState:
    """The current licence (None = free tier) and the check against it."""

    __slots__ = ("_clock", "_expires_at_ms", "licence")

    def __init__(self, licence: Licence | None = None, clock: Clock = now_ms) -> None:
        self._clock = clock
        self.replace(licence)

    def replace(self, licence: Licence | None) -> None:
        """Put ``licence`` in force for every check from now on."""
        self._expires_at_ms = 0 if licence is None else licence.expires_at * 1000
        self.licence = licence

    @property
    def tier(self) -> str:
        """``free``, ``pro`` or ``enterprise``: the loaded key's, even if expired."""
        return "free" if self.licence is None else self.licence.tier

    def allows(self, feature: str) -> bool:
        """Whether ``feature`` may be used now."""
        return self.licence is not None and self._clock() < self._expires_at_ms

    def refusal(self, feature: str) -> str | None:
        """None when ``feature`` may be used now, else the 403 message."""
        if self.licence is None:
            return f"{feature} requires a pro license"
        if self._clock() >= self._expires_at_ms:
            return f"License expired. {feature} requires a pro license."
        return None
