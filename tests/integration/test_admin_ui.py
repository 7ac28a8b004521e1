"""The Django admin in a real ``zizq serve``: routing, database, users, login.

Its views are tested with Django's test client (tests/zizq_server/admin_ui);
this is what only a real server shows: /admin/ on the admin listener only,
the database created at startup and its one log line, static files served
without collectstatic, ``createsuperuser`` through both entry points, and a
login that reaches the live store's counts.
"""

import os
import re
import subprocess
import sys

import httpx

from .server import ROOT, zizq_command


def _superuser(root, name, *entry):
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        DJANGO_SUPERUSER_USERNAME=name,
        DJANGO_SUPERUSER_PASSWORD="s3cret-pass",
        DJANGO_SUPERUSER_EMAIL=f"{name}@example.com",
    )
    command = [*entry, "createsuperuser", "--noinput", "--root-dir", str(root)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Superuser created successfully." in done.stdout


def _log_in(admin_url, name):
    client = httpx.Client(base_url=admin_url)
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    response = client.post(
        "/admin/login/?next=/admin/",
        data={
            "csrfmiddlewaretoken": token,
            "username": name,
            "password": "s3cret-pass",
            "next": "/admin/",
        },
    )
    assert response.status_code == 302 and response.headers["location"] == "/admin/"
    return client


def test_serve_creates_the_database_and_serves_the_admin(make_server, tmp_path):
    root = tmp_path / "root"
    _superuser(root, "first", *zizq_command())
    server = make_server(root_dir=str(root))
    ready = server.wait_for_log("admin database ready")["fields"]
    assert ready["path"] == str(root / "admin.sqlite3")
    assert ready["migrations_applied"] == 0  # createsuperuser migrated it
    messages = server.messages()
    assert messages.index("admin database ready") > messages.index(
        "primary API listening"
    )
    admin = httpx.Client(base_url=server.admin_url)
    login = admin.get("/admin/")
    assert login.status_code == 302
    assert login.headers["location"] == "/admin/login/?next=/admin/"
    css = admin.get("/admin/static/admin/css/base.css")
    assert css.status_code == 200 and css.headers["content-type"] == "text/css"
    assert admin.get("/admin/static/zizq_admin/dashboard.js").status_code == 200
    for path in ("/adminx", "/nothing", "/jobs"):
        missing = admin.get(path)
        assert (missing.status_code, missing.content) == (404, b""), path
    primary = server.client().get("/admin/")
    assert primary.status_code == 404 and primary.json() == {"error": "not found"}
    with server.client() as client:
        job = {"queue": "mail", "type": "send", "payload": {"n": 1}}
        assert client.post("/jobs", json=job).status_code == 201
    session = _log_in(server.admin_url, "first")
    dashboard = session.get("/admin/")
    assert dashboard.status_code == 200
    assert 'href="/admin/jobs/job/?queue=mail&amp;status=ready">1</a>' in dashboard.text
    assert session.get("/admin/throughput.json").json()["minutes"][-1]["enqueued"] == 1


def test_a_fresh_root_is_migrated_at_startup_and_users_survive_restarts(
    make_server, tmp_path
):
    server = make_server()
    assert server.wait_for_log("admin database ready")["fields"]["migrations_applied"]
    assert server.stop() == 0
    root = server.root_dir
    key_mode = os.stat(os.path.join(root, "admin-secret-key")).st_mode & 0o777
    assert key_mode == 0o600
    _superuser(root, "second", sys.executable, "manage.py")
    server.restart()
    ready = server.wait_for_log("admin database ready")["fields"]
    assert ready["migrations_applied"] == 0
    session = _log_in(server.admin_url, "second")
    assert session.get("/admin/jobs/job/").status_code == 200


def test_no_admin_listener_no_database(make_server):
    server = make_server("--no-admin")
    assert "admin database ready" not in server.messages()
    assert not os.path.exists(os.path.join(server.root_dir, "admin.sqlite3"))
