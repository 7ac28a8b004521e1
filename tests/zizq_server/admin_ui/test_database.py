"""The admin's database: built at the migrations' end state, then migrated."""

import os
import sqlite3

from django.core.management import call_command

from zizq_server.admin_ui import database


def _schema(path):
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("select name from sqlite_master")]
        columns = {
            table: sorted(row[1:] for row in db.execute(f"pragma table_info({table})"))
            for table in tables
        }
        migrations = db.execute("select app, name from django_migrations")
        return columns, sorted(migrations.fetchall())


def test_a_new_database_equals_one_migrated_step_by_step(tmp_path):
    fresh = tmp_path / "fresh"
    applied = database.prepare(str(fresh))
    assert applied > 0 and database._plan() == []
    assert not os.path.exists(fresh / "admin.sqlite3.new")
    stepwise = tmp_path / "stepwise"
    os.makedirs(stepwise)
    database._use(str(stepwise / "admin.sqlite3"))
    call_command("migrate", verbosity=0, interactive=False)
    assert _schema(fresh / "admin.sqlite3") == _schema(stepwise / "admin.sqlite3")
    assert database.prepare(str(fresh)) == 0
    from django.contrib.auth.models import Permission

    jobs = Permission.objects.filter(content_type__app_label="jobs")
    codenames = sorted(permission.codename for permission in jobs)
    assert codenames == ["change_job", "delete_job", "view_job"]


def test_the_secret_key_is_made_once_and_kept_private(tmp_path):
    from django.conf import settings

    database.prepare(str(tmp_path))
    first = settings.SECRET_KEY
    assert os.stat(tmp_path / "admin-secret-key").st_mode & 0o777 == 0o600
    database.prepare(str(tmp_path))
    assert settings.SECRET_KEY == first and len(first) >= 50
