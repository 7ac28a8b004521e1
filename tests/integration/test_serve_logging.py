"""``zizq serve`` log output end to end (issue 3): record shapes in json and
compact, levels and ``ZIZQ_LOG_FILTER``, the request log, file logging
and rotation (ADMIN_AND_CLI.md 3.1-3.4, FEATURES LOG-*, SRV-03/04).
"""

import json
import re
import time

import httpx
import pytest

from .streams import TakeStream
from .test_serve_config import (  # noqa: F401 - spawn is a fixture
    PROBE,
    enqueue,
    free_port,
    run_zizq,
    serve_args,
    spawn,
    take_one,
)

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
COMPACT = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) +(?P<level>TRACE|DEBUG|INFO|WARN|ERROR) "
    r"(?P<target>[\w:]+): (?P<rest>.*)"
)
SERVE = "zizq::commands::serve"
LICENCE = "no license key provided, running in free tier"


def now_ms() -> int:
    return int(time.time() * 1000)


def check_record(record: dict) -> dict:
    """LOG-02: one JSON object with timestamp, level, fields.message, target."""
    assert set(record) >= {"timestamp", "level", "fields", "target"}, record
    assert TIMESTAMP.fullmatch(record["timestamp"]), record
    assert record["level"] in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR"), record
    assert isinstance(record["fields"]["message"], str), record
    assert isinstance(record["target"], str) and record["target"], record
    return record


def json_lines(text_lines) -> list:
    return [check_record(json.loads(line)) for line in text_lines]


def by_message(records, message) -> list:
    return [r for r in records if r["fields"]["message"] == message]


def request_records(records) -> list:
    """The ``request`` records, without the harness's readiness probes."""
    return [r for r in by_message(records, "request") if r["fields"]["path"] != PROBE]


# --- start-up records -------------------------------------------------------------


def test_startup_records_json(spawn, tmp_path):
    root = tmp_path / "r"
    proc = spawn(*serve_args(root))
    with proc.client() as client:
        for _ in range(2):
            enqueue(client)
        enqueue(client, ready_at=now_ms() + 600_000)
    assert proc.stop() == 0
    proc = spawn(*serve_args(root))
    records = json_lines(proc.out)
    startup = records[:5]
    assert all(r["level"] == "INFO" and r["target"] == SERVE for r in startup)
    assert [set(r) for r in startup] == [{"timestamp", "level", "fields", "target"}] * 5
    assert startup[0]["fields"] == {"message": LICENCE}
    assert startup[1]["fields"] == {"message": "store opened", "root_dir": str(root)}
    rebuilt = by_message(startup, "in-memory indexes rebuilt")[0]["fields"]
    assert rebuilt["ready"] == 2 and rebuilt["scheduled"] == 1
    assert set(rebuilt) <= {"message", "ready", "scheduled", "cron"}
    listening = [r["fields"] for r in startup if "listening" in r["fields"]["message"]]
    assert listening == [
        {
            "message": "admin API listening",
            "api": "admin",
            "addr": f"127.0.0.1:{proc.admin_port}",
            "scheme": "http",
        },
        {
            "message": "primary API listening",
            "api": "primary",
            "addr": f"127.0.0.1:{proc.port}",
            "scheme": "http",
        },
    ]
    assert proc.stop() == 0
    assert by_message(json_lines(proc.out), "recovered orphaned in-flight jobs") == []


@pytest.mark.parametrize(
    "args, env",
    [
        (("--log-format", "compact"), {"ZIZQ_LOG_FORMAT": "json"}),
        ((), {}),  # auto: stderr is not a terminal -> compact
    ],
    ids=["flag-beats-env", "auto"],
)
def test_startup_lines_compact(spawn, tmp_path, args, env):
    root = tmp_path / "r"
    proc = spawn(
        "serve", "--root-dir", str(root), "--port", "0", "--admin-port", "0",
        *args, env=env,
    )
    lines = proc.out[:5]
    parsed = [COMPACT.fullmatch(line) for line in lines]
    assert all(parsed), lines
    assert all(m["level"] == "INFO" and m["target"] == SERVE for m in parsed)
    # tracing's compact layout: the level is right-aligned in five columns.
    assert lines[0].endswith(f"Z  INFO {SERVE}: {LICENCE}")
    rests = [m["rest"] for m in parsed]
    assert rests[1] == f"store opened root_dir={root}"
    assert re.fullmatch(r"in-memory indexes rebuilt ready=0 scheduled=0( cron=0)?", rests[2])
    assert rests[3] == (
        f'admin API listening api="admin" addr=127.0.0.1:{proc.admin_port} scheme=http'
    )
    assert rests[4] == (
        f'primary API listening api="primary" addr=127.0.0.1:{proc.port} scheme=http'
    )


def test_startup_lines_compact_without_admin(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r", "--no-admin", log_format="compact"))
    assert not any("admin API listening" in line for line in proc.out)
    assert sum("primary API listening" in line for line in proc.out) == 1


def test_json_format_from_the_environment(spawn, tmp_path):
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", "0", "--admin-port", "0",
        env={"ZIZQ_LOG_FORMAT": "json"},
    )
    assert [r["fields"]["message"] for r in json_lines(proc.out)][:2] == [
        LICENCE, "store opened"
    ]


def test_pretty_format_without_a_terminal_has_no_colours(spawn, tmp_path):
    port = free_port()
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", str(port),
        "--admin-port", "0", "--log-format", "pretty", port=port,
    )
    assert proc.stop() == 0
    text = "\n".join(proc.out)
    assert "\x1b[" not in text
    assert f"INFO {SERVE}: store opened, root_dir: {tmp_path / 'r'}" in text
    assert re.search(r"^    at \S+:\d+$", text, re.M)


def test_banner_and_listening_on_never_reach_stdout(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r"))
    with proc.client() as client:
        client.get("/health")
    assert proc.stop() == 0
    json_lines(proc.out)
    assert not any(line.startswith(("Zizq ", "Listening on")) for line in proc.out)
    # stderr is no terminal here: no banner there either, only the stop line.
    assert proc.err == ["Server stopped."]


# --- request log ------------------------------------------------------------------


def test_request_records(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r"))
    with proc.client() as client:
        job = enqueue(client)
        client.get("/jobs", params={"queue": "q", "limit": "5"})
        client.get("/nope")
        client.get(f"/jobs/{job['id']}")
    httpx.get(f"http://127.0.0.1:{proc.admin_port}/health")
    httpx.get(f"http://127.0.0.1:{proc.admin_port}/missing")
    httpx.get(f"http://127.0.0.1:{proc.admin_port}/admin/")  # the Django admin
    assert proc.stop() == 0
    requests = request_records(json_lines(proc.out))
    seen = [
        (r["target"], r["fields"]["method"], r["fields"]["path"], r["fields"]["status"])
        for r in requests
    ]
    assert seen == [
        ("zizq::api::primary", "POST", "/jobs", 201),
        ("zizq::api::primary", "GET", "/jobs?queue=q&limit=5", 200),
        ("zizq::api::primary", "GET", "/nope", 404),
        ("zizq::api::primary", "GET", f"/jobs/{job['id']}", 200),
        ("zizq::api::admin", "GET", "/health", 200),
        ("zizq::api::admin", "GET", "/missing", 404),
        ("zizq::api::admin", "GET", "/admin/", 302),  # to the login page
    ]
    for record in requests:
        assert record["level"] == "INFO"
        assert set(record["fields"]) == {"message", "method", "path", "status", "latency_ms"}
        latency = record["fields"]["latency_ms"]
        assert isinstance(latency, (int, float)) and 0 <= latency < 10_000


def test_request_record_compact(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r", log_format="compact"))
    with proc.client() as client:
        client.get("/queues", params={"x": "1"})
    assert proc.stop() == 0
    line = next(line for line in proc.out if "path=/queues" in line)
    assert re.fullmatch(
        r".*Z  INFO zizq::api::primary: request method=GET path=/queues\?x=1 "
        r"status=200 latency_ms=\d+(\.\d+)?",
        line,
    ), line


# --- levels and filters -------------------------------------------------------------


def _traffic(proc) -> None:
    with proc.client() as client:
        job, stream = take_one(proc, client)
        client.post(f"/jobs/{job['id']}/success")
        client.get("/nope")
        stream.close()


@pytest.mark.parametrize(
    "args, env",
    [
        (("--log-level", "warn"), {}),
        ((), {"ZIZQ_LOG_LEVEL": "warn"}),
        (("--log-level", "debug"), {"ZIZQ_LOG_FILTER": "error"}),
        ((), {"ZIZQ_LOG_LEVEL": "info", "ZIZQ_LOG_FILTER": "warn"}),
    ],
    ids=["flag-warn", "env-warn", "filter-error-beats-debug", "filter-warn-beats-info"],
)
def test_quiet_levels_suppress_info(spawn, tmp_path, args, env):
    port = free_port()
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", str(port),
        "--admin-port", "0", "--log-format", "json", *args, env=env, port=port,
    )
    _traffic(proc)
    assert proc.stop() == 0
    records = json_lines(proc.out)
    assert [r for r in records if r["level"] in ("INFO", "DEBUG", "TRACE")] == []


def test_log_level_flag_beats_environment(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r", "--log-level", "info"),
                 env={"ZIZQ_LOG_LEVEL": "warn"})
    _traffic(proc)
    assert proc.stop() == 0
    messages = [r["fields"]["message"] for r in json_lines(proc.out)]
    assert "store opened" in messages and "request" in messages
    assert not [r for r in json_lines(proc.out) if r["level"] == "DEBUG"]


def test_debug_level_adds_debug_records(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r", "--log-level", "debug"))
    with proc.client() as client:
        enqueue(client, queue="later", ready_at=now_ms() + 200)
        job, stream = take_one(proc, client, queue="now")
        client.post(f"/jobs/{job['id']}/success")
        stream.close()
        time.sleep(0.5)
    assert proc.stop() == 0
    debug = [r for r in json_lines(proc.out) if r["level"] == "DEBUG"]
    messages = {r["fields"]["message"] for r in debug}
    assert {"worker connected", "worker disconnected", "job promoted"} <= messages
    assert all(r["target"].startswith("zizq::") for r in debug)


def test_debug_level_logs_the_job_events_of_the_spec(spawn, tmp_path):
    # ADMIN_AND_CLI 3.4: debug-level job events job enqueued, job dispatched,
    # job marked completed, job failure recorded, job requeued (FEATURES
    # LOG-03: "debug adds job-level records").
    proc = spawn(*serve_args(tmp_path / "r", "--log-level", "debug"))
    with proc.client() as client:
        done, failed = enqueue(client)["id"], enqueue(client)["id"]
        stream = TakeStream(proc.port, "prefetch=0")
        stream.read_jobs(2)
        client.post(f"/jobs/{done}/success")
        client.post(f"/jobs/{failed}/failure", json={"message": "m"})
        requeued = enqueue(client)["id"]
        assert stream.read_job()["id"] == requeued
        stream.close()
        time.sleep(0.3)
    assert proc.stop() == 0
    debug = {r["fields"]["message"] for r in json_lines(proc.out) if r["level"] == "DEBUG"}
    expected = {
        "job enqueued",
        "job dispatched",
        "job marked completed",
        "job failure recorded",
        "job requeued",
    }
    assert expected <= debug, f"missing: {sorted(expected - debug)}"


def test_trace_level_accepted(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r", "--log-level", "trace"))
    _traffic(proc)
    assert proc.stop() == 0
    assert "request" in [r["fields"]["message"] for r in json_lines(proc.out)]


def test_log_filter_selects_targets(spawn, tmp_path):
    port = free_port()
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", str(port),
        "--admin-port", "0", "--log-format", "json",
        env={"ZIZQ_LOG_FILTER": "warn,zizq::api::primary=info"}, port=port,
    )
    _traffic(proc)
    assert proc.stop() == 0
    info = [r for r in json_lines(proc.out) if r["level"] == "INFO"]
    assert info and {r["target"] for r in info} == {"zizq::api::primary"}
    assert {r["fields"]["message"] for r in info} == {"request"}


def test_invalid_log_filter_falls_back_to_defaults(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r"), env={"ZIZQ_LOG_FILTER": "zizq=loud"})
    assert proc.stop() == 0
    assert proc.err[0].startswith("invalid ZIZQ_LOG_FILTER: ")
    assert proc.err[0].endswith(", falling back to defaults")
    assert "store opened" in [r["fields"]["message"] for r in json_lines(proc.out)]


# --- LOG-02 over a busy session ---------------------------------------------------------


def _busy_session(proc) -> TakeStream:
    """Traffic of every kind; returns a stream left open with a job in flight."""
    with proc.client() as client:
        ids = [enqueue(client, payload=i)["id"] for i in range(3)]
        client.post("/jobs", content=b"{not json", headers={"content-type": "application/json"})
        assert client.get("/jobs", params={"limit": "x"}).status_code == 400
        stream = TakeStream(proc.port, "prefetch=0")
        stream.read_jobs(3)
        client.post(f"/jobs/{ids[0]}/success")
        client.post(f"/jobs/{ids[1]}/failure", json={"message": "m\nwith \"quotes\""})
        client.get("/queues")
        stream.close()
        time.sleep(0.2)
        kept = TakeStream(proc.port, "prefetch=0")
        kept.read_job()
    return kept


def test_every_stdout_line_is_a_json_record(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r", "--log-level", "trace"))
    kept = _busy_session(proc)
    assert proc.stop() == 0
    kept.close()
    assert proc.out and len(json_lines(proc.out)) == len(proc.out)


def test_a_clean_session_logs_no_errors(spawn, tmp_path):
    proc = spawn(*serve_args(tmp_path / "r"))
    kept = _busy_session(proc)
    assert proc.stop() == 0
    kept.close()
    errors = [r for r in json_lines(proc.out) if r["level"] in ("WARN", "ERROR")]
    assert errors == [], errors


# --- files ------------------------------------------------------------------------------------


def _file_records(path) -> list:
    text = path.read_text()
    assert "\x1b[" not in text
    return json_lines(text.splitlines())


def test_log_dir_writes_the_file_and_nothing_to_stdout(spawn, tmp_path):
    port, log_dir = free_port(), tmp_path / "deep" / "logs"
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", str(port),
        "--admin-port", "0", "--log-format", "json", "--log-dir", str(log_dir),
        env={"ZIZQ_LOG_DIR": str(tmp_path / "env-logs")}, port=port,
    )
    _traffic(proc)
    assert proc.stop() == 0
    assert proc.out == []
    assert proc.err == ["Server stopped."]
    messages = [r["fields"]["message"] for r in _file_records(log_dir / "zizq.log")]
    assert messages[:2] == [LICENCE, "store opened"]
    assert "primary API listening" in messages and "request" in messages
    assert not (tmp_path / "env-logs").exists()
    assert not (tmp_path / "r" / "log").exists()


@pytest.mark.parametrize(
    "args, env, where",
    [
        (("--log-dir", "{tmp}/flag-logs", "--log-rotation", "hourly"), {}, "flag-logs"),
        (("--log-to-disk", "--log-rotation", "never"), {}, "r/log"),
        ((), {"ZIZQ_LOG_TO_DISK": "true", "ZIZQ_LOG_ROTATION": "daily"}, "r/log"),
        ((), {"ZIZQ_LOG_DIR": "{tmp}/env-logs", "ZIZQ_LOG_ROTATION": "hourly"}, "env-logs"),
    ],
    ids=["log-dir-hourly", "log-to-disk-never", "env-to-disk-daily", "env-log-dir"],
)
def test_file_logging_destinations(spawn, tmp_path, args, env, where):
    port = free_port()
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    env = {k: v.replace("{tmp}", str(tmp_path)) for k, v in env.items()}
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", str(port),
        "--admin-port", "0", *args, env=env, port=port,
    )
    with proc.client() as client:
        client.get("/health")
    assert proc.stop() == 0
    assert proc.out == []
    # No --log-format and a file destination: compact, no colours.
    lines = (tmp_path / where / "zizq.log").read_text().splitlines()
    assert "\x1b[" not in "".join(lines)
    assert all(re.fullmatch(COMPACT, line) for line in lines), lines
    assert any(f"store opened root_dir={tmp_path / 'r'}" in line for line in lines)
    assert any(": request method=GET path=/health status=200" in line for line in lines)


def test_size_rotation_keeps_numbered_files(spawn, tmp_path):
    port, log_dir = free_port(), tmp_path / "logs"
    proc = spawn(
        "serve", "--root-dir", str(tmp_path / "r"), "--port", str(port),
        "--admin-port", "0", "--log-format", "json", "--log-dir", str(log_dir),
        "--log-max-size", "2KB", "--log-max-files", "2", port=port,
    )
    with proc.client() as client:
        for i in range(100):
            assert client.get("/health", params={"i": i}).status_code == 200
    assert proc.stop() == 0
    names = sorted(path.name for path in log_dir.iterdir())
    assert names == ["zizq.log", "zizq.log.1", "zizq.log.2"]
    records = {}
    for name in names:
        path = log_dir / name
        assert path.stat().st_size <= 2000, name
        records[name] = _file_records(path)
        assert records[name], name
    # Oldest to newest: .2, .1, the live file (which ends with the stop).
    assert records["zizq.log"][-1]["fields"]["message"] == "server stopped"
    paths = [r["fields"]["path"] for name in ("zizq.log.2", "zizq.log.1", "zizq.log")
             for r in request_records(records[name])]
    assert paths[-1] == "/health?i=99"
    assert [int(p.rsplit("=", 1)[1]) for p in paths] == list(
        range(100 - len(paths), 100)
    )


def test_restart_appends_to_the_log_file(spawn, tmp_path):
    port, log_dir = free_port(), tmp_path / "logs"
    args = (
        "serve", "--root-dir", str(tmp_path / "r"), "--port", str(port),
        "--admin-port", "0", "--log-format", "json", "--log-dir", str(log_dir),
    )
    assert spawn(*args, port=port).stop() == 0
    assert spawn(*args, port=port).stop() == 0
    messages = [r["fields"]["message"] for r in _file_records(log_dir / "zizq.log")]
    assert messages.count("store opened") == 2
    assert sorted(p.name for p in log_dir.iterdir()) == ["zizq.log"]


def test_bad_log_rotation(tmp_path):
    result = run_zizq("serve", "--root-dir", str(tmp_path / "r"), "--log-rotation", "weekly")
    assert result.returncode == 2 and result.stderr.startswith("usage:")
    assert "--log-rotation" in result.stderr
