"""The Django admin in headless Chromium against a real ``zizq serve``.

One server and one browser for the module (Playwright driving Debian's
``/usr/bin/chromium``; nothing is downloaded). A missing browser fails the
run, never skips it. Each run leaves screenshots of the dashboard, the job
list and a job page in ``tests/browser/screenshots/`` (not committed).
"""

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.integration.server import ROOT, ServerProcess, zizq_command
from tests.integration.streams import TakeStream

CHROMIUM = "/usr/bin/chromium"
SHOTS = os.path.join(os.path.dirname(__file__), "screenshots")
PASSWORD = "browser-pass-1"
LIST = "/admin/jobs/job/"
VIEWPORT = {"width": 1300, "height": 900}

pytestmark = pytest.mark.slow


def _make_users(root: str) -> None:
    """A superuser and a view-only user, through ``manage.py shell``."""
    script = (
        "from django.contrib.auth.models import Permission, User\n"
        f"User.objects.create_superuser('root', 'r@example.com', '{PASSWORD}')\n"
        f"viewer = User.objects.create_user('viewer', password='{PASSWORD}',"
        " is_staff=True)\n"
        "viewer.user_permissions.add(Permission.objects.get(codename='view_job'))\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT, ZIZQ_ROOT_DIR=root)
    command = [sys.executable, "manage.py", "shell", "-c", script]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("browser") / "root")
    env = dict(os.environ, PYTHONPATH=ROOT, DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    command = zizq_command("--root-dir", root, "createsuperuser", "--noinput")
    command += ["--username", "boot", "--email", "boot@example.com"]
    created = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    _make_users(root)
    process = ServerProcess(root).start()
    yield process
    process.kill()


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run scripts/setup"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def _page(browser, server, user: str):
    page = browser.new_page(base_url=server.admin_url, viewport=VIEWPORT)
    page.goto("/admin/")
    page.fill("#id_username", user)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#zizq-dashboard")).to_be_visible()
    return page


def _shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def _enqueue(server, queue: str, count: int = 1, **fields) -> list:
    jobs = [
        {"queue": queue, "type": "send", "payload": {"n": n}, **fields}
        for n in range(count)
    ]
    response = httpx.post(f"{server.url}/jobs/bulk", json={"jobs": jobs})
    assert response.status_code == 201, response.text
    return [job["id"] for job in response.json()["jobs"]]


def test_the_dashboard_counts_move_while_a_producer_enqueues(browser, server):
    page = _page(browser, server, "root")
    stop = threading.Event()

    def produce():
        while not stop.is_set():
            _enqueue(server, "live", 5)
            time.sleep(0.3)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        row = page.locator('#zizq-queues tr[data-queue="live"]')
        cell = row.locator('td[data-status="ready"]')
        expect(cell).to_be_visible(timeout=15_000)
        first = int(cell.inner_text())
        expect(cell).not_to_have_text(str(first), timeout=15_000)
        assert int(cell.inner_text()) > first
    finally:
        stop.set()
        producer.join()
    expect(page.locator("#zizq-last-minute")).to_contain_text("enqueued")
    _shot(page, "dashboard")


def test_filter_the_list_then_open_a_job_with_errors(browser, server):
    _enqueue(server, "mail", 3, type="other")
    (failing,) = _enqueue(server, "mail", 1)
    stream = TakeStream(server.port, "queue=mail&prefetch=0")
    try:
        taken = [stream.read_job()["id"] for _ in range(4)]
        assert failing in taken
        failure = {
            "message": "SMTP timeout\nsecond line",
            "error_type": "IOError",
            "backtrace": "smtp.py:12 in send\nmail.py:3 in run",
            "retry_at": 4_000_000_000_000,
        }
        response = httpx.post(f"{server.url}/jobs/{failing}/failure", json=failure)
        assert response.status_code == 200, response.text
    finally:
        stream.close()
    page = _page(browser, server, "root")
    page.click(f'a[href="{LIST}"]')
    page.fill("#id_queue", "mail")
    page.fill("#id_type", "send")
    page.click("#zizq-filters input[type=submit]")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SMTP timeout")
    _shot(page, "list")
    page.click(f'a[href="{LIST}{failing}/"]')
    errors = page.locator("#zizq-errors")
    expect(errors).to_contain_text("SMTP timeout")
    expect(errors).to_contain_text("IOError")
    page.click("#zizq-errors summary")
    expect(errors).to_contain_text("smtp.py:12 in send")
    expect(page.locator("body")).to_contain_text("(default)")
    _shot(page, "job")


def test_retry_a_dead_job_and_a_waiting_worker_gets_it(browser, server):
    (doomed,) = _enqueue(server, "retry", 1)
    stream = TakeStream(server.port, "queue=retry&prefetch=0")
    try:
        assert stream.read_job()["id"] == doomed
        kill = {"message": "no such user", "kill": True}
        answer = httpx.post(f"{server.url}/jobs/{doomed}/failure", json=kill)
        assert answer.json()["status"] == "dead"
        stream.expect_no_job(0.3)
        page = _page(browser, server, "root")
        page.goto(f"{LIST}?queue=retry&status=dead")
        page.check(f'input[name=ids][value="{doomed}"]')
        page.select_option("#zizq-actions select[name=action]", "retry_now")
        page.click("#zizq-actions button[type=submit]")
        expect(page.locator("#zizq-confirm-text")).to_contain_text("1 job")
        page.click("input[value='Yes, I’m sure']")
        expect(page.locator(".messagelist")).to_contain_text("Changed 1 job.")
        assert stream.read_job(10)["id"] == doomed
    finally:
        stream.close()


def test_bulk_delete_everything_a_filter_matches(browser, server):
    _enqueue(server, "purge", 7, type="old")
    _enqueue(server, "purge", 2, type="new")
    page = _page(browser, server, "root")
    page.goto(f"{LIST}?queue=purge&type=old")
    page.select_option("#zizq-actions select[name=action]", "delete")
    page.check("#zizq-select-across")
    page.click("#zizq-actions button[type=submit]")
    expect(page.locator("#zizq-confirm-text")).to_contain_text("7 jobs")
    page.click("input[value='Yes, I’m sure']")
    expect(page.locator(".messagelist")).to_contain_text("Deleted 7 jobs.")
    remaining = httpx.get(f"{server.url}/jobs/count?queue=purge").json()["count"]
    assert remaining == 2


def test_a_view_only_user_can_look_but_not_change(browser, server):
    (job,) = _enqueue(server, "look", 1)
    page = _page(browser, server, "viewer")
    page.goto(f"{LIST}?queue=look")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert page.locator("select[name=action]").count() == 0
    page.goto(f"{LIST}{job}/")
    expect(page.locator("#zizq-payload")).to_be_attached()
    assert page.locator("#zizq-job-actions").count() == 0
    # A forged post with a good CSRF token (the logout form's) is refused.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    forged = page.request.post(
        f"{server.admin_url}/admin/jobs/job/action/",
        form={
            "action": "delete",
            "ids": job,
            "confirmed": "yes",
            "csrfmiddlewaretoken": token,
        },
        headers={"referer": f"{server.admin_url}/admin/"},
    )
    assert forged.status == 403
    assert httpx.get(f"{server.url}/jobs/{job}").status_code == 200
