"""``zizq serve`` from a validated config to a clean exit.

Sequence (ADMIN_AND_CLI.md 3.1): banner (TTY only), root directory and
logging, licence lines (the key was verified before the command ran) and
the mTLS licence check, the TLS files of each listener (any mistake exits
1 here, before the store opens or anything binds), open the store, return
orphaned in-flight jobs and rebuild the indexes, the licence file watcher's
line, bind admin then primary (logging each real address and its scheme),
start the background loops (the licence watcher, for an ``@file`` key with
a non-zero interval, and the TLS certificate watcher), serve. On
SIGINT/SIGTERM: end the take streams (their jobs go back to ready), send
GOAWAY on every open HTTP/2 connection, stop the loops, flush and close
the store, print ``Server stopped.``.

The index rebuild runs before the listeners bind, so a take never sees a
half-built index; at a million jobs it takes a few seconds.
"""

import asyncio
import logging
import os
import sys
import time

from django.core.management import CommandError

from queue_core.background import cron, reaper, scheduler
from queue_core.clock import now_ms
from queue_core.errors import StorageError
from queue_core.options import EngineConfig, StorageTuning
from queue_core.store import Store, checkpoint
from queue_core.types import Backoff

from .. import __version__, licence
from .. import logging as zlogging
from ..admin_ui import database as admin_database
from ..admin_ui import throughput
from ..runtime import runtime
from . import h2_open

logger = logging.getLogger("zizq.commands.serve")


def engine_config(config) -> EngineConfig:
    return EngineConfig(
        default_retry_limit=config.default_retry_limit,
        default_backoff=Backoff(
            config.default_backoff_exponent,
            config.default_backoff_base_ms,
            config.default_backoff_jitter_ms,
        ),
        default_completed_retention_ms=config.default_completed_job_retention_ms,
        default_dead_retention_ms=config.default_dead_job_retention_ms,
        global_in_flight_limit=config.global_in_flight_limit,
        default_fsync=config.default_commit_mode == "fsync",
        enqueue_fsync=config.effective_enqueue_commit_mode == "fsync",
        scheduler_batch_size=config.scheduler_batch_size,
        enqueue_batch_size=config.enqueue_batch_size,
        complete_batch_size=config.complete_batch_size,
        auto_compact_threshold=config.auto_compact_threshold,
        storage=StorageTuning(
            cache_size_bytes=config.cache_size_bytes,
            table_size_bytes=config.data_table_size_bytes,
            journal_size_bytes=config.journal_size_bytes,
            l0_threshold=config.l0_threshold,
        ),
    )


def _info(message: str, **fields) -> None:
    logger.info(message, extra={"fields": fields})


def open_store(config) -> Store:
    root = config.root_dir
    data = os.path.join(root, "data")
    try:
        os.makedirs(root, exist_ok=True)
        for path in checkpoint.remove_leftovers(data):
            _info("removed a backup checkpoint left by a crash", path=path)
        store = Store(data, engine_config(config))
    except (OSError, StorageError) as exc:
        raise CommandError(_describe(exc, root)) from None
    _info("store opened", root_dir=root)
    report = store.recover()
    if report.orphans:
        _info("recovered orphaned in-flight jobs", count=report.orphans)
    _info(
        "in-memory indexes rebuilt",
        ready=report.ready,
        scheduled=report.scheduled,
        cron=store.crons.entry_count(),
    )
    return store


def _log_backoff(config) -> None:
    """The default backoff in effect, when a flag or variable changed it."""
    _info(
        "default backoff",
        formula=zlogging.Quoted(config.backoff_formula),
        exponent=config.default_backoff_exponent,
        base_ms=config.default_backoff_base_ms,
        jitter_ms=config.default_backoff_jitter_ms,
    )


def _describe(exc: Exception, root: str) -> str:
    if isinstance(exc, StorageError):
        return exc.message
    return f"cannot use root directory {root}: {exc.strerror or exc}"


def _put_licence_in_force(config, key: licence.LicenceKey) -> bool:
    """Log the licence, refuse mTLS without one, and make it the runtime's.

    Returns whether the key file is to be watched.
    """
    if key.public_key_path is not None:
        licence.log_extra_issuer(key.public_key_path)
    licence.log_licence(key.licence, now_ms())
    runtime.licence.replace(key.licence)
    config.check_mtls(runtime.licence)
    return key.path is not None and config.license_key_check_interval_ms > 0


def _watch_licence(config, key: licence.LicenceKey):
    return licence.watcher.run(
        key,
        config.license_key_check_interval_ms,
        runtime.licence,
        now_ms,
        runtime.shutdown,
    )


def _load_tls(config) -> dict:
    """Listener name -> its ``ListenerTls``, for the listeners with TLS."""
    from .tls import TlsError, TlsFiles
    from .tls_transport import ListenerTls

    wanted = {"primary": (config.tls_cert, config.tls_key, config.tls_client_ca)}
    if not config.no_admin:
        wanted["admin"] = (
            config.admin_tls_cert,
            config.admin_tls_key,
            config.admin_tls_client_ca,
        )
    loaded = {}
    for name, (cert, key, client_ca) in wanted.items():
        if cert:
            try:
                loaded[name] = ListenerTls(name, TlsFiles(cert, key, client_ca))
            except TlsError as exc:
                raise CommandError(str(exc)) from None
    return loaded


def run(config, licence_key: licence.LicenceKey) -> None:
    from . import daphne  # installs the event loop policy before Twisted loads
    from . import tls_reload

    tty = sys.stderr.isatty()
    if tty:
        print(f"Zizq {__version__}", file=sys.stderr)
    zlogging.configure(config)
    watch = _put_licence_in_force(config, licence_key)
    tls = _load_tls(config)
    if config.backoff_given:
        _log_backoff(config)
    store = open_store(config)
    runtime.configure(store, config.heartbeat_interval_ms)
    # The Django admin's users and sessions (None: no admin listener).
    migrated = None if config.no_admin else admin_database.prepare(config.root_dir)
    if watch:
        licence.watcher.log_started(
            licence_key.path, config.license_key_check_interval_ms
        )
    tasks = []

    def on_listening(name: str, host: str, port: int) -> None:
        addr = f"[{host.strip('[]')}]:{port}" if ":" in host else f"{host}:{port}"
        scheme = "https" if name in tls else "http"
        _info(
            f"{name} API listening",
            api=zlogging.Quoted(name),
            addr=addr,
            scheme=scheme,
        )
        if tty:
            print(f"Listening on {scheme}://{addr} ({name})", file=sys.stderr)

    async def on_ready() -> None:
        runtime.started_monotonic = time.monotonic()
        tasks.append(
            asyncio.ensure_future(
                scheduler.run(store, config.scheduler_batch_size, runtime.shutdown)
            )
        )
        tasks.append(
            asyncio.ensure_future(
                reaper.run(store, config.reaper_check_interval_ms, runtime.shutdown)
            )
        )
        tasks.append(asyncio.ensure_future(throughput.run(store, runtime.shutdown)))
        if migrated is not None:
            admin_database.log_ready(migrated)
        tasks.append(
            asyncio.ensure_future(
                cron.run(
                    store, runtime.licence.allows, runtime.shutdown, zlogging.log_info
                )
            )
        )
        if watch:
            tasks.append(asyncio.ensure_future(_watch_licence(config, licence_key)))
        if tls:
            watched = list(tls.values())
            tasks.append(
                asyncio.ensure_future(tls_reload.run(watched, runtime.shutdown))
            )

    async def on_stop() -> None:
        runtime.shutdown.set()
        for stream in list(runtime.streams):
            await stream.end()
        h2_open.goaway_all()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        store.close()
        _info("server stopped")

    try:
        daphne.run(
            _application(),
            _listeners(config, daphne, tls),
            on_listening=on_listening,
            on_ready=on_ready,
            on_stop=on_stop,
            max_request_body_bytes=config.max_request_body_size_bytes,
        )
    except daphne.BindError as exc:
        store.close()
        raise CommandError(str(exc)) from None
    print("Server stopped.", file=sys.stderr)


def _application():
    from ..asgi import build_application

    return build_application()


def _listeners(config, daphne, tls: dict) -> list:
    listeners = []
    if not config.no_admin:
        listeners.append(
            daphne.ListenerSpec(
                "admin", config.admin_host, config.admin_port, tls.get("admin")
            )
        )
    listeners.append(
        daphne.ListenerSpec("primary", config.host, config.port, tls.get("primary"))
    )
    return listeners
