"""``zizq serve``: flags -> ServerConfig -> ``serve.lifecycle.run()``.

Every flag of spec/ADMIN_AND_CLI.md section 2.1 is declared here with the
parser of ``values`` as its ``type`` (a bad value is a usage error, exit 2)
and a default of None, so that an absent flag leaves the setting from the
environment or ``queue_core.defaults`` in place. The global ``--root-dir``,
``-k``/``--license-key`` and ``--license-public-key`` are accepted too, for
``manage.py serve``; ``ZizqCommand`` has verified the licence key before
``handle`` runs.
The server itself lives in ``zizq_server.serve``.
"""

from django.conf import settings

from zizq_server import values
from zizq_server.management.base import ZizqCommand
from zizq_server.serve.config import ServerConfig

_DURATION = ("DURATION", values.parse_duration_ms)
_SIZE = ("SIZE", values.parse_byte_size)
_COUNT = ("N", values.parse_u32)
_PATH = ("PATH", str)

# (flags, destination, (metavar, type), help); destination = ServerConfig field.
_OPTIONS = (
    (("--root-dir",), "root_dir", _PATH, "root directory [env: ZIZQ_ROOT_DIR]"),
    (
        ("-k", "--license-key"),
        "license_key",
        ("KEY", str),
        "licence JWT, or @/path/to/file [env: ZIZQ_LICENSE_KEY]",
    ),
    (
        ("--license-public-key",),
        "license_public_key",
        _PATH,
        "also trust licences signed by the Ed25519 key in this PEM file "
        "[env: ZIZQ_LICENSE_PUBLIC_KEY]",
    ),
    (("--host",), "host", ("IP", str), "primary API address [env: ZIZQ_HOST]"),
    (
        ("--port",),
        "port",
        ("PORT", values.parse_port),
        "primary API port, 0 = any free port [env: ZIZQ_PORT]",
    ),
    (
        ("--admin-host",),
        "admin_host",
        ("IP", str),
        "Admin API address [env: ZIZQ_ADMIN_HOST]",
    ),
    (
        ("--admin-port",),
        "admin_port",
        ("PORT", values.parse_port),
        "Admin API port, 0 = any free port [env: ZIZQ_ADMIN_PORT]",
    ),
    (
        ("--tls-cert",),
        "tls_cert",
        _PATH,
        "PEM certificate chain for the primary API [env: ZIZQ_TLS_CERT]",
    ),
    (
        ("--tls-key",),
        "tls_key",
        _PATH,
        "PEM private key for the primary API [env: ZIZQ_TLS_KEY]",
    ),
    (
        ("--tls-client-ca",),
        "tls_client_ca",
        _PATH,
        "PEM CA certificate(s): require client certificates (mTLS, pro) "
        "[env: ZIZQ_TLS_CLIENT_CA]",
    ),
    (
        ("--admin-tls-cert",),
        "admin_tls_cert",
        _PATH,
        "PEM certificate chain for the Admin API [env: ZIZQ_ADMIN_TLS_CERT]",
    ),
    (
        ("--admin-tls-key",),
        "admin_tls_key",
        _PATH,
        "PEM private key for the Admin API [env: ZIZQ_ADMIN_TLS_KEY]",
    ),
    (
        ("--admin-tls-client-ca",),
        "admin_tls_client_ca",
        _PATH,
        "mTLS on the Admin API (pro) [env: ZIZQ_ADMIN_TLS_CLIENT_CA]",
    ),
    (
        ("--log-format",),
        "log_format",
        ("FORMAT", values.parse_log_format),
        "pretty | compact | json; default: pretty on a terminal, else compact "
        "[env: ZIZQ_LOG_FORMAT]",
    ),
    (
        ("--log-level",),
        "log_level",
        ("LEVEL", values.parse_log_level),
        "trace | debug | info | warn | error (default info) [env: ZIZQ_LOG_LEVEL]",
    ),
    (
        ("--log-dir",),
        "log_dir",
        _PATH,
        "write logs to PATH/zizq.log instead of stdout [env: ZIZQ_LOG_DIR]",
    ),
    (
        ("--log-rotation",),
        "log_rotation",
        ("PERIOD", values.parse_log_rotation),
        "daily | hourly | never (default daily) [env: ZIZQ_LOG_ROTATION]",
    ),
    (
        ("--log-max-size",),
        "log_max_size_bytes",
        _SIZE,
        "rotate the log file at this size (default 100MB) [env: ZIZQ_LOG_MAX_SIZE]",
    ),
    (
        ("--log-max-files",),
        "log_max_files",
        _COUNT,
        "rotated log files kept (default 10) [env: ZIZQ_LOG_MAX_FILES]",
    ),
    (
        ("--heartbeat-interval",),
        "heartbeat_interval_ms",
        _DURATION,
        "idle time between heartbeats on take streams (default 3s) "
        "[env: ZIZQ_HEARTBEAT_INTERVAL]",
    ),
    (
        ("-l", "--global-in-flight-limit"),
        "global_in_flight_limit",
        _COUNT,
        "max in-flight jobs across all connections, 0 = unlimited (default 1024) "
        "[env: ZIZQ_GLOBAL_IN_FLIGHT_LIMIT]",
    ),
    (
        ("--default-retry-limit",),
        "default_retry_limit",
        _COUNT,
        "retries before a job dies (default 25) [env: ZIZQ_DEFAULT_RETRY_LIMIT]",
    ),
    (
        ("--default-backoff-base",),
        "default_backoff_base_ms",
        _DURATION,
        "backoff base (default 15s) [env: ZIZQ_DEFAULT_BACKOFF_BASE]",
    ),
    (
        ("--default-backoff-exponent",),
        "default_backoff_exponent",
        ("FLOAT", values.parse_float),
        "backoff exponent (default 4.0) [env: ZIZQ_DEFAULT_BACKOFF_EXPONENT]",
    ),
    (
        ("--default-backoff-jitter",),
        "default_backoff_jitter_ms",
        _DURATION,
        "backoff jitter (default 30s) [env: ZIZQ_DEFAULT_BACKOFF_JITTER]",
    ),
    (
        ("--default-completed-job-retention",),
        "default_completed_job_retention_ms",
        _DURATION,
        "keep completed jobs this long, 0 = delete at once (default 0) "
        "[env: ZIZQ_DEFAULT_COMPLETED_JOB_RETENTION]",
    ),
    (
        ("--default-dead-job-retention",),
        "default_dead_job_retention_ms",
        _DURATION,
        "keep dead jobs this long, 0 = delete at once (default 7d) "
        "[env: ZIZQ_DEFAULT_DEAD_JOB_RETENTION]",
    ),
    (
        ("--reaper-check-interval",),
        "reaper_check_interval_ms",
        _DURATION,
        "how often expired jobs are purged (default 30s) "
        "[env: ZIZQ_REAPER_CHECK_INTERVAL]",
    ),
    (
        ("--default-commit-mode",),
        "default_commit_mode",
        ("MODE", values.parse_commit_mode),
        "buffered | fsync, for all writes (default buffered) "
        "[env: ZIZQ_DEFAULT_COMMIT_MODE]",
    ),
    (
        ("--enqueue-commit-mode",),
        "enqueue_commit_mode",
        ("MODE", values.parse_commit_mode),
        "buffered | fsync, for enqueues (default: the default commit mode) "
        "[env: ZIZQ_ENQUEUE_COMMIT_MODE]",
    ),
    (
        ("--cache-size",),
        "cache_size_bytes",
        _SIZE,
        "storage block cache (default 256MB) [env: ZIZQ_CACHE_SIZE]",
    ),
    (
        ("--enqueue-batch-size",),
        "enqueue_batch_size",
        _COUNT,
        "max concurrent enqueues per commit (default 1000) "
        "[env: ZIZQ_ENQUEUE_BATCH_SIZE]",
    ),
    (
        ("--complete-batch-size",),
        "complete_batch_size",
        _COUNT,
        "max concurrent acks per commit (default 1000) [env: ZIZQ_COMPLETE_BATCH_SIZE]",
    ),
    (
        ("--license-key-check-interval",),
        "license_key_check_interval_ms",
        _DURATION,
        "re-read interval of an @file licence, 0 = never (default 5s) "
        "[env: ZIZQ_LICENSE_KEY_CHECK_INTERVAL]",
    ),
    (
        ("--max-request-body-size",),
        "max_request_body_size_bytes",
        _SIZE,
        "largest request body accepted, larger ones get 413; 0 = no limit "
        "(default 16MiB) [env: ZIZQ_MAX_REQUEST_BODY_SIZE]",
    ),
)

# (flag, destination, help) for flags that take no value.
_SWITCHES = (
    ("--no-admin", "no_admin", "do not start the Admin API [env: ZIZQ_NO_ADMIN]"),
    (
        "--log-to-disk",
        "log_to_disk",
        "write logs to ROOT_DIR/log/zizq.log instead of stdout "
        "[env: ZIZQ_LOG_TO_DISK]",
    ),
)


class Command(ZizqCommand):
    help = "Run the Zizq server."

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("usage", "%(prog)s [OPTIONS]")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        for flags, dest, (metavar, parse), text in _OPTIONS:
            parser.add_argument(
                *flags, dest=dest, type=parse, metavar=metavar, default=None, help=text
            )
        for flag, dest, text in _SWITCHES:
            parser.add_argument(
                flag, dest=dest, action="store_true", default=None, help=text
            )

    def handle(self, *args, **options):
        config = ServerConfig.from_settings(settings, options)
        config.validate()
        # Imported late: validation errors must not pay for the server stack.
        from zizq_server.serve import lifecycle

        lifecycle.run(config, self.licence_key)
