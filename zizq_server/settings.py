"""Django settings, and the only module that reads the environment.

Every ``ZIZQ_*`` variable of spec/ADMIN_AND_CLI.md section 2.1 is read here
through django-environ with the strict casts of ``values`` (environ's own
``bool`` cast turns any typo into ``False``). The result is three settings:

* ``ZIZQ``: option name -> value, every option present, defaults from
  ``queue_core.defaults`` filled in. Names match ``ServerConfig`` fields.
* ``ZIZQ_EXPLICIT``: the option names that the environment actually set.
* ``ZIZQ_ERRORS``: messages for values that did not parse, in table order.

A bad value never raises at import: settings load before any command runs,
so ``serve`` reports ``ZIZQ_ERRORS`` itself (``Error: <msg>``, exit 1).
An unset or empty variable means "not given". django-environ resolves a
value starting with ``$`` as a reference to another variable; Zizq values
never need a literal leading ``$``.
"""

import os
from typing import Any, Callable, Mapping, NamedTuple

import environ

from queue_core import defaults
from zizq_server import values

# (option, environment variable, cast, default)
_OPTIONS: tuple[tuple[str, str, Callable[[str], Any], Any], ...] = (
    ("root_dir", "ZIZQ_ROOT_DIR", str, defaults.DEFAULT_ROOT_DIR),
    ("license_key", "ZIZQ_LICENSE_KEY", str, None),
    # An extra trusted licence issuer: a PEM Ed25519 public key file.
    ("license_public_key", "ZIZQ_LICENSE_PUBLIC_KEY", str, None),
    ("host", "ZIZQ_HOST", str, defaults.DEFAULT_HOST),
    ("port", "ZIZQ_PORT", values.parse_port, defaults.DEFAULT_PORT),
    ("admin_host", "ZIZQ_ADMIN_HOST", str, defaults.DEFAULT_ADMIN_HOST),
    ("admin_port", "ZIZQ_ADMIN_PORT", values.parse_port, defaults.DEFAULT_ADMIN_PORT),
    ("no_admin", "ZIZQ_NO_ADMIN", values.parse_bool, False),
    ("tls_cert", "ZIZQ_TLS_CERT", str, None),
    ("tls_key", "ZIZQ_TLS_KEY", str, None),
    ("tls_client_ca", "ZIZQ_TLS_CLIENT_CA", str, None),
    ("admin_tls_cert", "ZIZQ_ADMIN_TLS_CERT", str, None),
    ("admin_tls_key", "ZIZQ_ADMIN_TLS_KEY", str, None),
    ("admin_tls_client_ca", "ZIZQ_ADMIN_TLS_CLIENT_CA", str, None),
    # None = auto (pretty on a terminal, else compact): see ServerConfig.
    ("log_format", "ZIZQ_LOG_FORMAT", values.parse_log_format, None),
    ("log_level", "ZIZQ_LOG_LEVEL", values.parse_log_level, defaults.DEFAULT_LOG_LEVEL),
    ("log_to_disk", "ZIZQ_LOG_TO_DISK", values.parse_bool, False),
    ("log_dir", "ZIZQ_LOG_DIR", str, None),
    (
        "log_rotation",
        "ZIZQ_LOG_ROTATION",
        values.parse_log_rotation,
        defaults.DEFAULT_LOG_ROTATION,
    ),
    (
        "log_max_size_bytes",
        "ZIZQ_LOG_MAX_SIZE",
        values.parse_byte_size,
        defaults.DEFAULT_LOG_MAX_SIZE_BYTES,
    ),
    (
        "log_max_files",
        "ZIZQ_LOG_MAX_FILES",
        values.parse_u32,
        defaults.DEFAULT_LOG_MAX_FILES,
    ),
    (
        "heartbeat_interval_ms",
        "ZIZQ_HEARTBEAT_INTERVAL",
        values.parse_duration_ms,
        defaults.DEFAULT_HEARTBEAT_INTERVAL_MS,
    ),
    (
        "global_in_flight_limit",
        "ZIZQ_GLOBAL_IN_FLIGHT_LIMIT",
        values.parse_u32,
        defaults.DEFAULT_GLOBAL_IN_FLIGHT_LIMIT,
    ),
    (
        "default_retry_limit",
        "ZIZQ_DEFAULT_RETRY_LIMIT",
        values.parse_u32,
        defaults.DEFAULT_RETRY_LIMIT,
    ),
    (
        "default_backoff_base_ms",
        "ZIZQ_DEFAULT_BACKOFF_BASE",
        values.parse_duration_ms,
        defaults.DEFAULT_BACKOFF_BASE_MS,
    ),
    (
        "default_backoff_exponent",
        "ZIZQ_DEFAULT_BACKOFF_EXPONENT",
        values.parse_float,
        defaults.DEFAULT_BACKOFF_EXPONENT,
    ),
    (
        "default_backoff_jitter_ms",
        "ZIZQ_DEFAULT_BACKOFF_JITTER",
        values.parse_duration_ms,
        defaults.DEFAULT_BACKOFF_JITTER_MS,
    ),
    (
        "default_completed_job_retention_ms",
        "ZIZQ_DEFAULT_COMPLETED_JOB_RETENTION",
        values.parse_duration_ms,
        defaults.DEFAULT_COMPLETED_JOB_RETENTION_MS,
    ),
    (
        "default_dead_job_retention_ms",
        "ZIZQ_DEFAULT_DEAD_JOB_RETENTION",
        values.parse_duration_ms,
        defaults.DEFAULT_DEAD_JOB_RETENTION_MS,
    ),
    (
        "reaper_check_interval_ms",
        "ZIZQ_REAPER_CHECK_INTERVAL",
        values.parse_duration_ms,
        defaults.DEFAULT_REAPER_CHECK_INTERVAL_MS,
    ),
    (
        "default_commit_mode",
        "ZIZQ_DEFAULT_COMMIT_MODE",
        values.parse_commit_mode,
        defaults.DEFAULT_COMMIT_MODE,
    ),
    # None = inherit default_commit_mode.
    ("enqueue_commit_mode", "ZIZQ_ENQUEUE_COMMIT_MODE", values.parse_commit_mode, None),
    (
        "cache_size_bytes",
        "ZIZQ_CACHE_SIZE",
        values.parse_byte_size,
        defaults.DEFAULT_CACHE_SIZE_BYTES,
    ),
    (
        "enqueue_batch_size",
        "ZIZQ_ENQUEUE_BATCH_SIZE",
        values.parse_u32,
        defaults.DEFAULT_ENQUEUE_BATCH_SIZE,
    ),
    (
        "complete_batch_size",
        "ZIZQ_COMPLETE_BATCH_SIZE",
        values.parse_u32,
        defaults.DEFAULT_COMPLETE_BATCH_SIZE,
    ),
    (
        "license_key_check_interval_ms",
        "ZIZQ_LICENSE_KEY_CHECK_INTERVAL",
        values.parse_duration_ms,
        defaults.DEFAULT_LICENSE_KEY_CHECK_INTERVAL_MS,
    ),
    (
        "max_request_body_size_bytes",
        "ZIZQ_MAX_REQUEST_BODY_SIZE",
        values.parse_byte_size,
        defaults.DEFAULT_MAX_REQUEST_BODY_SIZE_BYTES,
    ),
    # Environment-only: the raw tracing-style filter, parsed by logging.
    ("log_filter", "ZIZQ_LOG_FILTER", str, None),
)

# Storage tuning: a bad value aborts start-up with exactly this message shape.
# None = the storage engine's own default.
_STORAGE_OPTIONS: tuple[tuple[str, str, Callable[[str], Any], Any], ...] = (
    (
        "auto_compact_threshold",
        "ZIZQ_AUTO_COMPACT_THRESHOLD",
        values.parse_u32,
        defaults.DEFAULT_AUTO_COMPACT_THRESHOLD,
    ),
    ("data_table_size_bytes", "ZIZQ_DATA_TABLE_SIZE", values.parse_byte_size, None),
    ("index_table_size_bytes", "ZIZQ_INDEX_TABLE_SIZE", values.parse_byte_size, None),
    ("journal_size_bytes", "ZIZQ_JOURNAL_SIZE", values.parse_byte_size, None),
    ("l0_threshold", "ZIZQ_L0_THRESHOLD", values.parse_u8, None),
)
_STORAGE_VARIABLES = frozenset(option[1] for option in _STORAGE_OPTIONS)


class EnvReading(NamedTuple):
    """What the environment says: values with defaults, explicit names, errors."""

    values: dict[str, Any]
    explicit: frozenset[str]
    errors: tuple[str, ...]


def read_environment(environment: Mapping[str, str] | None = None) -> EnvReading:
    """Read every Zizq option from ``environment`` (default ``os.environ``)."""
    env = environ.Env()
    if environment is not None:
        env.ENVIRON = environment
    result: dict[str, Any] = {}
    explicit: set[str] = set()
    errors: list[str] = []
    for name, variable, cast, default in _OPTIONS + _STORAGE_OPTIONS:
        try:
            value = env(variable, cast=cast, default=None)
        except ValueError as exc:
            errors.append(_invalid(variable, env.ENVIRON[variable], exc))
            value = None
        if value is None:
            result[name] = default
        else:
            result[name] = value
            explicit.add(name)
    result["scheduler_batch_size"] = _scheduler_batch_size(env)
    return EnvReading(result, frozenset(explicit), tuple(errors))


def _invalid(variable: str, raw: str, exc: ValueError) -> str:
    if variable in _STORAGE_VARIABLES:
        return f'invalid value for {variable}: "{raw}"'
    return f"invalid value for {variable}: {exc}"


def _scheduler_batch_size(env: environ.Env) -> int:
    """``ZIZQ_SCHEDULER_BATCH_SIZE``: a bad or zero value is ignored (spec)."""
    try:
        size = env("ZIZQ_SCHEDULER_BATCH_SIZE", cast=values.parse_u32, default=None)
    except ValueError:
        size = None
    return size or defaults.DEFAULT_SCHEDULER_BATCH_SIZE


_READING = read_environment()
ZIZQ = _READING.values
ZIZQ_EXPLICIT = _READING.explicit
ZIZQ_ERRORS = _READING.errors

# The admin client of top, backup and compact (spec 7.1): plain strings,
# checked by the commands. Not part of ZIZQ, which holds server options.
ZIZQ_ADMIN_CLIENT = {
    name: environ.Env().str(variable, default=None) or None
    for name, variable in (
        ("url", "ZIZQ_ADMIN_URL"),
        ("ca_cert", "ZIZQ_ADMIN_TLS_CA"),
        ("client_cert", "ZIZQ_ADMIN_TLS_CLIENT_CERT"),
        ("client_key", "ZIZQ_ADMIN_TLS_CLIENT_KEY"),
    )
}

# --- Django -----------------------------------------------------------------

DEBUG = False
# zizq_server first: its createsuperuser (which migrates first) wins over
# django.contrib.auth's.
INSTALLED_APPS = [
    "zizq_server.apps.ZizqServerConfig",
    "zizq_server.admin_ui.apps.AdminUiConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
# Users and sessions of the Django admin (never job data): SQLite in the root
# directory. ``serve`` points both at its own --root-dir before first use
# (``admin_ui.database``); other commands use the global --root-dir.
DATABASES: dict[str, Any] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(ZIZQ["root_dir"], "admin.sqlite3"),
    }
}
# Replaced by the key kept in the root directory (admin_ui.database); a
# fixed value here only lets commands that sign nothing start.
SECRET_KEY = "zizq-admin-key-not-yet-loaded"
ROOT_URLCONF = "zizq_server.admin_ui.urls"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
# Served by the admin listener itself (ASGIStaticFilesHandler): no collectstatic.
STATIC_URL = "/admin/static/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ALLOWED_HOSTS = ["*"]  # the admin listener binds where the operator chose
ASGI_APPLICATION = "zizq_server.asgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
# zizq_server.logging configures logging for the whole process; Django must
# not install its own handlers first.
LOGGING_CONFIG = None
