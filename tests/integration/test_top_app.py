"""``zizq top``'s app driven by Textual's pilot against a real server (spec 7.2).

The app runs in process (``App.run_test``) and talks to a real ``zizq
serve`` over its admin WebSocket. One free-tier and one licensed server
are shared by the module; each test uses its own queue names and reads
only what it made, except where it says so. ``screen`` is the text of the
widgets the app draws into.
"""

import asyncio
import functools
import json
import time

import pytest
from textual.widgets import Static
from websockets.asyncio.server import serve

from tests.zizq_server.licence.keys import pro_licence_args
from zizq_server.tools.admin_client import AdminEndpoint
from zizq_server.tools.top import TopApp

from .server import ServerProcess
from .test_tls import pki, tls_flags  # noqa: F401 (pki is a fixture)

PARTS = ("header", "depth", "tabs", "table", "cap", "footer")


@pytest.fixture(scope="module")
def free(tmp_path_factory):
    server = ServerProcess(str(tmp_path_factory.mktemp("free"))).start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def licence(tmp_path_factory):
    """``-k`` and ``--license-public-key`` of a pro licence."""
    return pro_licence_args(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def pro(tmp_path_factory, licence):
    server = ServerProcess(str(tmp_path_factory.mktemp("pro")), licence).start()
    yield server
    server.kill()


def drive(test):
    """Run an async test on a fresh event loop (no asyncio plugin here)."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return run


def screen(app) -> str:
    return "\n".join(str(app.query_one(f"#{part}", Static).content) for part in PARTS)


async def until(pilot, check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never {what}; the screen:\n{screen(pilot.app)}")
        await pilot.pause(0.05)


def seen_statuses(app) -> list:
    """Record every status the app's connection reports (still shown)."""
    statuses = []
    report = app.connection._status

    def spy(status, problem):
        statuses.append(status)
        report(status, problem)

    app.connection._status = spy
    return statuses


def bulk(server, queue: str, count: int, **fields) -> list:
    jobs = [
        {"queue": queue, "type": f"{queue}-{i}", "payload": {"n": i}, **fields}
        for i in range(count)
    ]
    with server.client() as client:
        r = client.post("/jobs/bulk", json={"jobs": jobs})
    assert r.status_code == 201
    return [job["id"] for job in r.json()["jobs"]]


def sent(app) -> list:
    """Record the messages the app sends (they still go out)."""
    messages = []
    send = app.connection.send

    def spy(text):
        messages.append(json.loads(text))
        send(text)

    app.connection.send = spy
    return messages


@drive
async def test_connects_shows_totals_tabs_and_the_free_cap(free):
    bulk(free, "cap", 12)
    with free.client() as client:
        later = {
            "queue": "cap",
            "type": "x",
            "payload": None,
            "ready_at": 4_000_000_000_000,
        }
        assert client.post("/jobs", json=later).status_code == 201
    app = TopApp(free.admin_url)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(
            pilot,
            lambda: "Queue: 0 in-flight, 12 ready, 1 scheduled" in screen(app),
            "totals",
        )
        text = screen(app)
        assert f"● Connected {free.admin_url}" in text
        assert "Server version: 0.6.1, Uptime: " in text
        assert "Display is currently capped at 10 jobs." in text
        assert "Upgrade to a pro license to see everything." in text
        assert "DURATION" in text  # In-Flight first
        await pilot.press("tab")
        await until(pilot, lambda: "DELAY" in screen(app), "the Ready tab")
        assert screen(app).count("\n") - len(PARTS) > 0
        rows = [
            line
            for line in str(app.query_one("#table", Static).content).splitlines()[1:]
        ]
        assert len(rows) == 10  # capped
        await pilot.press("G")
        assert app.tab.cursor == 9
        await pilot.press("tab")
        await until(
            pilot,
            lambda: "DUE" in screen(app) and " ago" not in screen(app),
            "Scheduled",
        )
        await pilot.press("shift+tab", "shift+tab")
        assert "DURATION" in screen(app)


@drive
async def test_a_long_list_scrolls_by_paced_windows(pro):
    ids = bulk(pro, "long", 3_000)
    app = TopApp(pro.admin_url)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.lists[1].rows.total == 3_000, "3,000 ready")
        messages = sent(app)
        await pilot.press("tab", "G")
        await until(
            pilot,
            lambda: (app.tab.current() or {}).get("id") == ids[-1],
            "at the last job",
        )
        assert app.tab.cursor == 2_999
        # The Ready tab's window follows the cursor to the tail (other tabs'
        # subscriptions may be sent meanwhile, in any order).
        ready = [
            m for m in messages if m["type"] == "subscribe" and m["list"] == "ready"
        ]
        assert ready[-1]["anchor"] == {"kind": "tail"}
        for _ in range(40):
            await pilot.press("pageup")
        await until(pilot, lambda: app.tab.current() is not None, "the page loaded")
        assert app.tab.current()["id"] == ids[app.tab.cursor]
        subscribes = [m for m in messages if m["type"] == "subscribe"]
        # 40 pages in well under a second: paced, at most one per 100 ms.
        assert 2 <= len(subscribes) < 20
        assert all(m["limit"] >= 200 for m in subscribes)
        await pilot.press("g")
        await until(
            pilot, lambda: app.tab.current()["id"] == ids[0], "back at the head"
        )
        before = len(messages)
        await pilot.resize_terminal(100, 40)  # every tab subscribed afresh
        await until(pilot, lambda: len(messages) >= before + 3, "re-subscribed")
        resubscribed = {m["list"] for m in messages[before:]}
        assert resubscribed >= {"in_flight", "ready", "scheduled"}
        table = app.query_one("#table", Static)
        await until(pilot, lambda: ids[0] in str(table.content), "the head drawn")


@drive
async def test_find_next_previous_then_delete(pro):
    ids = bulk(pro, "find", 40)
    app = TopApp(pro.admin_url)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.lists[1].rows.items, "loaded")
        await pilot.press("tab", "slash")
        assert app.mode == "search"
        await pilot.press(*"find-1,find-3", "tab", *"find", "enter")
        await until(pilot, lambda: app.tab.pinned == ids[1], "the first match")
        await pilot.press("n")
        await until(pilot, lambda: app.tab.pinned == ids[3], "the next match")
        await pilot.press("n")  # find-10
        await until(pilot, lambda: app.tab.pinned == ids[10], "t10")
        await pilot.press("N")
        await until(pilot, lambda: app.tab.pinned == ids[3], "the previous match")
        await pilot.press("slash")
        assert app.query_one("#types").value == "find-1,find-3"  # pre-filled
        await pilot.press("escape")
        await pilot.press("D")
        assert f" Delete job {ids[3]}? y Yes  n No" in screen(app)
        await pilot.press("n")
        assert app.mode == "normal"
        await pilot.press("D", "y")
        await until(
            pilot, lambda: app.tab.live.index_of(ids[3]) is None, "the row gone"
        )
        with pro.client() as client:
            assert client.get(f"/jobs/{ids[3]}").status_code == 404
        await pilot.press("escape")
        assert app.tab.pinned is None


@drive
async def test_detail_panel_and_pause(pro):
    ids = bulk(
        pro,
        "detail",
        5,
        retry_limit=7,
        backoff={"base_ms": 1000, "exponent": 2.0, "jitter_ms": 0},
    )
    app = TopApp(pro.admin_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lists[1].rows.items, "loaded")
        await pilot.press("tab", "G")  # the newest jobs are last
        await until(
            pilot, lambda: (app.tab.current() or {}).get("id") == ids[-1], "at the end"
        )
        await pilot.press("i")
        await until(
            pilot, lambda: "retry_limit" in (app.tab.current() or {}), "detail fields"
        )
        # 30% of the 31 rows the table and the panel share (of 40, less 9).
        assert app.query_one("#detail").size.height == 9
        await pilot.press("p")
        assert "PAUSED" in screen(app) and "pResume" in screen(app)
        frozen = [job["id"] for job in app.tab.rows.items]
        more = bulk(pro, "detail", 3)
        await until(
            pilot,
            lambda: app.tab.live.index_of(more[-1]) is not None,
            "live rows move on",
        )
        assert [job["id"] for job in app.tab.rows.items] == frozen
        await pilot.press("i")  # disabled while paused
        assert app.detail
        await pilot.press("G")
        assert app.tab.cursor == app.tab.rows.end - 1
        await pilot.press("p")
        assert app.tab.rows is app.tab.live and "PAUSED" not in screen(app)


async def _garbage(websocket):
    await websocket.send("not json")
    await websocket.send(json.dumps({"event": "job_snapshot"}))
    await websocket.wait_closed()


@drive
async def test_bad_servers_never_crash_it(free):
    async with serve(_garbage, "127.0.0.1", 0) as impostor:
        port = impostor.sockets[0].getsockname()[1]
        app = TopApp(f"http://127.0.0.1:{port}")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(
                pilot, lambda: "not a Zizq server" in screen(app), "the problem"
            )
            assert "● Connected" in screen(app)
    app = TopApp(f"http://127.0.0.1:{free.port}")  # the primary API: no /events
    statuses = seen_statuses(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "HTTP 403" in screen(app), "the refusal")
        assert "● Disconnected" in screen(app)
        # A refused retry shows Connecting... for a moment too short to draw
        # reliably: the connection's reports say it came, after Disconnected.
        await until(
            pilot,
            lambda: statuses[statuses.index("Disconnected") :].count("Connecting...")
            >= 1,
            "a retry",
            timeout=5,
        )
    app = TopApp("ftp://nowhere")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(
            pilot, lambda: "invalid admin URL: ftp://nowhere" in screen(app), "the URL"
        )
        assert app.is_running


@drive
async def test_wss_with_a_client_certificate(make_server, licence, pki):  # noqa: F811
    server = make_server(*licence, *tls_flags(pki, "admin-", client_ca=True))
    assert server.admin_url.startswith("https://")
    ca = str(pki / "ca-cert.pem")
    pair = (str(pki / "client-worker-cert.pem"), str(pki / "client-worker-key.pem"))
    trusted = AdminEndpoint(server.admin_url, ca, *pair).ssl_context()
    app = TopApp(server.admin_url, trusted)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Queue: 0 in-flight" in screen(app), "connected")
    without_pair = AdminEndpoint(server.admin_url, ca).ssl_context()
    app = TopApp(server.admin_url, without_pair)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(
            pilot, lambda: "client certificate required?" in screen(app), "refused"
        )
        assert "● Disconnected" in screen(app)
