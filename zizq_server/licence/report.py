"""The licence log lines (ADMIN_AND_CLI.md 5.3) and their humanised duration.

``remaining`` is printed the way the real server prints it, with the Rust
``humantime`` crate's ``format_duration`` over whole seconds: years of
365.25 days and months of 30.44 days, then days, hours, minutes and
seconds; the first three units are words pluralised with a bare ``s``
(``1year``, ``11months``, ``26days``), the rest are ``h``, ``m``, ``s``;
zero units are left out, units are separated by one space, and nothing at
all is ``0s``. For example ``11months 26days 1h 13m 20s``.

The lines go to the ``zizq.commands.serve`` logger (target
``zizq::commands::serve``), where the real server logs them.
"""

import logging

from .verify import Licence

logger = logging.getLogger("zizq.commands.serve")

_YEAR_SECONDS = 31_557_600  # 365.25 days
_MONTH_SECONDS = 2_630_016  # 30.44 days
_DAY_SECONDS = 86_400


def format_duration(seconds: int) -> str:
    """``seconds`` (>= 0) as humantime's ``format_duration`` writes it."""
    if seconds <= 0:
        return "0s"
    years, rest = divmod(seconds, _YEAR_SECONDS)
    months, rest = divmod(rest, _MONTH_SECONDS)
    days, rest = divmod(rest, _DAY_SECONDS)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    words = (("year", years), ("month", months), ("day", days))
    parts = [f"{n}{unit}{'s' if n > 1 else ''}" for unit, n in words if n]
    parts += [
        f"{n}{unit}" for unit, n in (("h", hours), ("m", minutes), ("s", secs)) if n
    ]
    return " ".join(parts)


def log_licence(licence: Licence | None, now_ms: int) -> None:
    """The licence line: what was validated, or the free tier."""
    if licence is None:
        logger.info("no license key provided, running in free tier")
        return
    remaining = max(0, licence.expires_at - now_ms // 1000)
    fields = {
        "licensee": licence.licensee_name,
        "tier": licence.tier,
        "expires_at": licence.expires_at,
        "remaining": format_duration(remaining),
    }
    logger.info("license validated", extra={"fields": fields})


def log_extra_issuer(path: str) -> None:
    logger.warning(
        "trusting an additional license issuer key", extra={"fields": {"path": path}}
    )
