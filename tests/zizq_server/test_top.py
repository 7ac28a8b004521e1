"""``zizq top``'s pure parts: durations, the depth bar, windows, message checks.

The app itself runs against a real server in tests/integration/test_top_*.
"""

import json

import pytest

from zizq_server.tools.top import depth, format, protocol
from zizq_server.tools.top.connection import events_url
from zizq_server.tools.top.lists import JobList


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "-"),
        (0, "< 1s"),
        (999, "< 1s"),
        (3_000, "3s"),
        (150_000, "2m30s"),
        (3_600_000, "1h"),
        (90_061_000, "1d1h1m1s"),
    ],
)
def test_durations_are_compact(ms, text):
    assert format.duration(ms) == text


def test_due_counts_down_then_says_ago():
    assert format.due(10_000, 4_000) == "6s"
    assert format.due(4_000, 10_000) == "6s ago"
    assert format.since(12_000, 10_000) == "< 1s"  # the future is now


def test_local_time_carries_the_offset():
    assert format.local_time(0)[-6] in "+-"
    assert len(format.local_time(0)) == len("1970-01-01 00:00:00 +00:00")


def test_depth_bars_are_one_a_job_then_proportional():
    assert depth.widths([2, 3, 1], 120) == [2, 3, 1]
    assert depth.widths([1, 1_000_000, 0], 100) == [1, 99, 0]
    assert sum(depth.widths([500, 300, 200], 50)) == 50


def test_depth_markers_sit_over_the_cursor_in_its_segment():
    lines = depth.render([2, 3, 0], 1, 2, 80).plain.split("\n")
    assert lines[1].startswith("  Depth[│││││") and lines[1].endswith("  5 jobs]")
    assert lines[0].index("▼") == lines[2].index("▲") == len("  Depth[") + 2 + 2


def _job(job_id: str, priority: int = 5) -> dict:
    return {
        "id": job_id,
        "priority": priority,
        "ready_at": 0,
        "queue": "q",
        "job_type": "t",
    }


def test_diffs_keep_the_list_order_and_the_window_follows_its_anchor():
    tab = JobList("ready")
    tab.anchor = {"kind": "offset", "offset": 10}
    tab.load({"items": [_job("b"), _job("d")], "first_position": 10, "total": 12})
    tab.add(_job("c"))
    tab.add(_job("a", priority=1))
    tab.remove("d")
    assert [job["id"] for job in tab.live.items] == ["a", "b", "c"]
    tab.set_total(11, 2)  # offset 10 is past the end: the last window
    assert tab.live.first == 9


def test_windows_are_asked_for_around_the_cursor():
    tab = JobList("ready")
    tab.load(
        {
            "items": [_job(f"{i:04}") for i in range(200)],
            "first_position": 0,
            "total": 100_000,
        }
    )
    assert tab.wanted(20, 200) is None
    tab.move_to(50_000)
    tab.scroll(20)
    assert tab.wanted(20, 200) == {"kind": "offset", "offset": 49_900}
    tab.move_to(99_999)
    tab.scroll(20)
    assert tab.wanted(20, 200) == {"kind": "tail"}
    tab.pinned = "0042"
    assert tab.wanted(20, 200) == {
        "kind": "around",
        "id": "0042",
        "fallback": "nowhere",
    }


def test_paused_rows_stay_while_the_live_ones_move():
    tab = JobList("ready")
    tab.load({"items": [_job("a"), _job("b")], "first_position": 0, "total": 5})
    tab.freeze()
    tab.add(_job("0"))
    assert [job["id"] for job in tab.rows.items] == ["a", "b"]
    tab.move_to(4)
    assert tab.cursor == 1 and tab.at_frozen_edge()
    tab.thaw()
    assert [job["id"] for job in tab.rows.items] == ["0", "a", "b"]


def _envelope(**fields) -> str:
    server = {
        "version": "0.6.1",
        "total_ready": 0,
        "total_in_flight": 0,
        "total_scheduled": 0,
    }
    return json.dumps({"server": server, **fields})


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"\x00", "binary"),
        ("nope", "not JSON"),
        ("[1]", "not a Zizq server"),
        (
            json.dumps({"server": {}, "event": "heartbeat"}),
            "`total_ready` is not a count",
        ),
        (_envelope(), "without an event name"),
        (
            _envelope(event="job_snapshot", in_flight={"items": []}),
            "window `in_flight`: bad pos",
        ),
        (
            _envelope(event="job_changed", id="x", status="ready", job={"id": 1}),
            "bad job",
        ),
        (_envelope(event="find_result", list="done"), "unknown list"),
    ],
)
def test_messages_not_from_a_zizq_server_are_named(frame, problem):
    with pytest.raises(protocol.ProtocolError, match=problem):
        protocol.parse(frame)


def test_unknown_events_pass():
    assert protocol.parse(_envelope(event="newer"))["event"] == "newer"


def test_events_urls():
    assert events_url("http://h:1/") == "ws://h:1/events"
    assert events_url("https://h/admin") == "wss://h/admin/events"
    for bad in ("ftp://h", "http://", "http://h:99999"):
        with pytest.raises(ValueError):
            events_url(bad)


def test_a_split_client_pair_is_refused_before_the_terminal_is_touched():
    from tests.zizq_server.test_cli import run

    flag = run("top", "--client-cert", "c.pem")
    env = run("top", env={"ZIZQ_ADMIN_TLS_CLIENT_KEY": "k.pem"})
    for result in (flag, env):
        assert (result.returncode, result.stdout, result.stderr) == (
            1,
            "",
            "Error: --client-cert and --client-key must be provided together\n",
        )
    refresh = run("top", "-r", "0")
    assert refresh.returncode == 2
    assert "invalid refresh rate '0': a positive number of ms" in refresh.stderr
