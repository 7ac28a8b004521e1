"""ServerConfig: the one validated description of a ``zizq serve`` run.

Configuration flows one way: environment -> ``settings.ZIZQ`` (defaults
filled in) -> the command-line flags that are not None overlay it ->
``validate()`` once -> plain values handed to the engine and the listeners.
Field names are the option names of ``settings``, with the unit in the name
for durations (``*_ms``) and sizes (``*_bytes``).

Validation raises ``CommandError`` with the spec's wording, which
``ZizqCommand`` prints as ``Error: <msg>`` with exit status 1. The pair
checks run before anything starts; the mTLS licence check
(``check_mtls``) runs once the licence line is logged, as in the real
server's start-up order. PEM contents belong to the TLS code.
"""

import dataclasses
import sys
from pathlib import Path
from typing import Any, Mapping

from django.core.management import CommandError

from ..licence import MUTUAL_TLS

_BACKOFF = (
    "default_backoff_base_ms",
    "default_backoff_exponent",
    "default_backoff_jitter_ms",
)

# Fields computed here, never taken from settings or flags.
_DERIVED = frozenset(("log_format_explicit", "explicit"))


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    root_dir: str
    license_key: str | None
    license_public_key: str | None
    host: str
    port: int
    admin_host: str
    admin_port: int
    no_admin: bool
    tls_cert: str | None
    tls_key: str | None
    tls_client_ca: str | None
    admin_tls_cert: str | None
    admin_tls_key: str | None
    admin_tls_client_ca: str | None
    # Resolved: "pretty" | "compact" | "json"; log_format_explicit says
    # whether it was chosen by flag or environment rather than auto.
    log_format: str
    log_format_explicit: bool
    log_level: str
    log_filter: str | None
    log_to_disk: bool
    log_dir: str | None
    log_rotation: str
    log_max_size_bytes: int
    log_max_files: int
    heartbeat_interval_ms: int
    global_in_flight_limit: int
    default_retry_limit: int
    default_backoff_base_ms: int
    default_backoff_exponent: float
    default_backoff_jitter_ms: int
    default_completed_job_retention_ms: int
    default_dead_job_retention_ms: int
    reaper_check_interval_ms: int
    default_commit_mode: str
    enqueue_commit_mode: str | None
    cache_size_bytes: int
    enqueue_batch_size: int
    complete_batch_size: int
    license_key_check_interval_ms: int
    # 0 = no limit.
    max_request_body_size_bytes: int
    scheduler_batch_size: int
    auto_compact_threshold: int
    # None = the storage engine's own default.
    data_table_size_bytes: int | None
    index_table_size_bytes: int | None
    journal_size_bytes: int | None
    l0_threshold: int | None
    # Option names given by a flag or an environment variable.
    explicit: frozenset[str] = frozenset()

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        flags: Mapping[str, Any],
        *,
        stderr_isatty: bool | None = None,
    ) -> "ServerConfig":
        """Overlay the non-None ``flags`` on ``settings.ZIZQ``.

        Raises ``CommandError`` for the first environment value that did not
        parse (``settings.ZIZQ_ERRORS``).
        """
        if settings.ZIZQ_ERRORS:
            raise CommandError(settings.ZIZQ_ERRORS[0])
        names = {field.name for field in dataclasses.fields(cls)} - _DERIVED
        given = {k: v for k, v in flags.items() if k in names and v is not None}
        options = {**settings.ZIZQ, **given}
        explicit = frozenset(settings.ZIZQ_EXPLICIT | given.keys())
        if stderr_isatty is None:
            stderr_isatty = sys.stderr.isatty()
        options["log_format_explicit"] = options["log_format"] is not None
        if options["log_format"] is None:
            to_stdout = not (options["log_to_disk"] or options["log_dir"])
            auto_pretty = stderr_isatty and to_stdout
            options["log_format"] = "pretty" if auto_pretty else "compact"
        return cls(**options, explicit=explicit)

    def validate(self) -> None:
        """Raise ``CommandError`` when options that belong together are split.

        The backoff options are not among them: the docs ask for all three
        together, but the real server takes any subset, each missing one
        keeping its default (ADMIN_AND_CLI.md 2.1 and 13), and so does this.
        """
        _check_tls_pair("", self.tls_cert, self.tls_key, self.tls_client_ca)
        _check_tls_pair(
            "admin-", self.admin_tls_cert, self.admin_tls_key, self.admin_tls_client_ca
        )

    def check_mtls(self, licence) -> None:
        """Refuse a client CA unless ``licence`` allows mutual TLS now.

        Checked once at start-up: a licence that expires later does not
        turn mTLS off (ADMIN_AND_CLI.md 4).
        """
        for client_ca, what in (
            (self.tls_client_ca, "mTLS"),
            (self.admin_tls_client_ca, "admin mTLS"),
        ):
            refusal = licence.refusal(MUTUAL_TLS) if client_ca else None
            if refusal is not None:
                raise CommandError(f"cannot enable {what}: {refusal}")

    @property
    def backoff_given(self) -> bool:
        """Whether a flag or variable set any of the default backoff options."""
        return not self.explicit.isdisjoint(_BACKOFF)

    @property
    def backoff_formula(self) -> str:
        """The default backoff in effect, as API.md 5.2 writes the formula."""
        return (
            f"delay_ms = attempts^{self.default_backoff_exponent!r} * 1000"
            f" + {self.default_backoff_base_ms}"
            f" + rand * {self.default_backoff_jitter_ms} * attempts"
        )

    @property
    def effective_enqueue_commit_mode(self) -> str:
        """The commit mode for enqueues: its own setting, else the default."""
        return self.enqueue_commit_mode or self.default_commit_mode

    @property
    def log_directory(self) -> Path | None:
        """Where ``zizq.log`` goes, or None to log to stdout."""
        if self.log_dir:
            return Path(self.log_dir)
        if self.log_to_disk:
            return Path(self.root_dir) / "log"
        return None


def _check_tls_pair(
    prefix: str, cert: str | None, key: str | None, client_ca: str | None
) -> None:
    if bool(cert) != bool(key):
        raise CommandError(
            f"--{prefix}tls-cert and --{prefix}tls-key must be provided together"
        )
    if client_ca and not cert:
        raise CommandError(
            f"--{prefix}tls-client-ca requires --{prefix}tls-cert and --{prefix}tls-key"
        )
