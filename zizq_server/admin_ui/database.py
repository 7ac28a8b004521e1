"""The admin's SQLite database and secret key, both in the root directory.

``serve`` calls ``prepare`` with its own root directory before the
listeners open, and ``createsuperuser`` with the global one: the database
(users, groups, permissions, sessions) is created and migrated on first use,
quietly; an up-to-date one costs a look at the migration plan. The secret
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
    settings.DATABASES["default"]["NAME"] = os.path.join(root_dir, DATABASE_FILE)
    settings.SECRET_KEY = _secret_key(os.path.join(root_dir, SECRET_KEY_FILE))
    return _migrate()


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


def _migrate() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return len(plan)


def log_ready(applied: int) -> None:
    """The one line ``serve`` logs, once its listeners are up (ADMIN_AND_CLI
    3.1 fixes the lines before them)."""
    fields = {
        "path": settings.DATABASES["default"]["NAME"],
        "migrations_applied": applied,
    }
    logger.info("admin database ready", extra={"fields": fields})
