"""The admin's SQLite database and secret key, both in the root directory.

``serve`` calls ``prepare`` with its own root directory before the
listeners open, and ``createsuperuser`` with the global one: the database
(users, groups, permissions, sessions) is created on first use, quietly,
and migrated when Django's migrations move on; an up-to-date one costs a
look at the migration plan. The secret
key that signs sessions and CSRF tokens is generated once and kept beside
it (mode 0600), so logins survive restarts.
"""

import logging
import os

from django.conf import settings

logger = logging.getLogger("zizq.admin")

DATABASE_FILE = "admin.sqlite3"
SECRET_KEY_FILE = "admin-secret-key"


def prepare(root_dir: str) -> int:
    """Use ``root_dir``'s database and key, migrate; returns migrations applied."""
    os.makedirs(root_dir, exist_ok=True)
    path = os.path.join(root_dir, DATABASE_FILE)
    settings.SECRET_KEY = _secret_key(os.path.join(root_dir, SECRET_KEY_FILE))
    if not os.path.exists(path):
        return _create(path)
    _use(path)
    return _migrate()


def _use(path: str) -> None:
    from django.db import connection

    connection.close()
    settings.DATABASES["default"]["NAME"] = path
    connection.settings_dict["NAME"] = path


def _secret_key(path: str) -> str:
    try:
        with open(path, encoding="ascii") as file:
            return file.read().strip()
    except FileNotFoundError:
        pass
    from django.core.management.utils import get_random_secret_key

    key = get_random_secret_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key)
    return key


def _plan():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def _migrate() -> int:
    plan = _plan()
    if plan:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return len(plan)


def _create(path: str) -> int:
    """A new database at the migrations' end state, as Django's test runner
    builds one without migrations: tables straight from the models, every
    migration recorded as applied, then ``post_migrate`` (content types,
    permissions). Running the 18 migrations one by one costs ~10 times as
    much (0.5 s idle, 2 s on a loaded 2-core machine), and every fresh root
    pays it. It is built beside its final name and renamed into place, so
    a crash leaves either no database or a whole one."""
    from django.apps import apps
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connection, transaction
    from django.db.migrations.recorder import MigrationRecorder

    building = path + ".new"
    if os.path.exists(building):
        os.remove(building)
    _use(building)
    plan = _plan()
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            if model._meta.managed and not model._meta.proxy:
                editor.create_model(model)
    recorder = MigrationRecorder(connection)
    recorder.ensure_schema()
    with transaction.atomic():
        for migration, _backwards in plan:
            recorder.record_applied(migration.app_label, migration.name)
        emit_post_migrate_signal(0, False, connection.alias)
    connection.close()
    os.replace(building, path)
    _use(path)
    return len(plan)


def log_ready(applied: int) -> None:
    """The one line ``serve`` logs, once its listeners are up (ADMIN_AND_CLI
    3.1 fixes the lines before them)."""
    fields = {
        "path": settings.DATABASES["default"]["NAME"],
        "migrations_applied": applied,
    }
    logger.info("admin database ready", extra={"fields": fields})
