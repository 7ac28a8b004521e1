"""Log output: compact/json/pretty shapes, the filter, rotated log files."""

import asyncio
import io
import json
import logging
import re
import time

import pytest

from zizq_server import logging as zlogging
from zizq_server.logging import OFF, TRACE, Quoted

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


@pytest.fixture
def output():
    """Configure logging into a buffer; restore the root logger afterwards."""
    root = logging.getLogger()
    level = root.level
    handlers = []

    def configure(stream=None, **options):
        stream = stream or io.StringIO()
        options.setdefault("fmt", "compact")
        handlers.append(zlogging.configure_output(stream=stream, **options))
        return stream

    yield configure
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    logging.getLogger("zizq").setLevel(logging.NOTSET)


def record(name="zizq.commands.serve", level=logging.INFO, msg="m", fields=None):
    logger = logging.getLogger(name)
    extra = None if fields is None else {"fields": fields}
    return logger.makeRecord(name, level, "f.py", 1, msg, (), None, extra=extra)


def test_compact_line_shape(output):
    stream = output()
    logging.getLogger("zizq.commands.serve").info(
        "store opened", extra={"fields": {"root_dir": "./zizq-root"}}
    )
    line = stream.getvalue()
    expected = r"  INFO zizq::commands::serve: store opened root_dir=./zizq-root\n"
    assert re.fullmatch(TIMESTAMP + expected, line), line


def test_compact_quotes_quoted_fields_only(output):
    stream = output()
    logging.getLogger("zizq.commands.serve").info(
        "listening",
        extra={
            "fields": {
                "api": Quoted("primary"),
                "addr": "127.0.0.1:7890",
                "scheme": "http",
                "licensee": "Test Corp",
                "ok": True,
            }
        },
    )
    assert stream.getvalue().split(": ", 1)[1] == (
        'listening api="primary" addr=127.0.0.1:7890 scheme=http '
        "licensee=Test Corp ok=true\n"
    )


def test_compact_request_record(output):
    stream = output()
    logging.getLogger("zizq.api.primary").info(
        "request",
        extra={
            "fields": {
                "method": "GET",
                "path": "/jobs",
                "status": 200,
                "latency_ms": 0.123,
            }
        },
    )
    assert stream.getvalue().endswith(
        " INFO zizq::api::primary: request method=GET path=/jobs status=200 "
        "latency_ms=0.123\n"
    )


@pytest.mark.parametrize(
    "level, label",
    [
        (TRACE, "TRACE"),
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, " INFO"),
        (logging.WARNING, " WARN"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "ERROR"),
    ],
)
def test_compact_level_is_right_aligned(level, label):
    line = zlogging.CompactFormatter().format(record(level=level))
    assert line[26:34] == f"Z {label} "


def test_json_line_shape(output):
    stream = output(fmt="json")
    logging.getLogger("zizq.commands.serve").info(
        "in-memory indexes rebuilt",
        extra={"fields": {"ready": 0, "scheduled": 2, "api": Quoted("primary")}},
    )
    line = stream.getvalue()
    assert line.endswith("}\n") and line.count("\n") == 1
    assert re.fullmatch(
        r'\{"timestamp":"' + TIMESTAMP + r'","level":"INFO","fields":\{"message":'
        r'"in-memory indexes rebuilt","ready":0,"scheduled":2,"api":"primary"\},'
        r'"target":"zizq::commands::serve"\}\n',
        line,
    ), line


def test_json_without_fields_and_with_exception(output):
    stream = output(fmt="json")
    logger = logging.getLogger("zizq.x")
    logger.warning("no fields")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("failed")
    first, second = map(json.loads, stream.getvalue().splitlines())
    assert first["fields"] == {"message": "no fields"}
    assert first["level"] == "WARN"
    assert second["level"] == "ERROR"
    assert second["fields"]["message"].startswith("failed\nTraceback")
    assert "RuntimeError: boom" in second["fields"]["message"]


def test_json_uses_percent_arguments():
    line = zlogging.JsonFormatter().format(
        logging.getLogger("zizq").makeRecord("zizq", 20, "f", 1, "n=%d", (3,), None)
    )
    assert json.loads(line)["fields"]["message"] == "n=3"


def test_pretty_is_multiline_without_ansi_off_terminal(output):
    stream = output(fmt="pretty")
    logging.getLogger("zizq.commands.serve").info(
        "listening", extra={"fields": {"api": Quoted("admin"), "port": 1}}
    )
    text = stream.getvalue()
    assert "\x1b[" not in text
    first, second, *rest = text.split("\n")
    assert re.fullmatch(
        "  " + TIMESTAMP + '  INFO zizq::commands::serve: listening, api: "admin", '
        "port: 1",
        first,
    ), first
    assert second.startswith("    at test_logging.py:")


def test_pretty_colours_on_a_terminal():
    formatter = zlogging.PrettyFormatter(ansi=True)
    assert "\x1b[32m INFO\x1b[0m" in formatter.format(record())


def test_pretty_is_chosen_with_ansi_only_for_a_tty(output):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    handler = zlogging.configure_output(fmt="pretty", stream=stream)
    try:
        logging.getLogger("zizq.t").info("hi")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "\x1b[" in stream.getvalue()


def test_default_filter_is_warn_plus_zizq_level(output):
    stream = output(level="debug")
    logging.getLogger("zizq.a").debug("ours")
    logging.getLogger("daphne").info("theirs hidden")
    logging.getLogger("daphne").warning("theirs shown")
    logging.getLogger("zizq.a").log(TRACE, "trace hidden")
    lines = stream.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["ours", "theirs shown"]


def test_log_filter_replaces_the_default(output):
    stream = output(level="error", filter_spec="info,zizq::api=trace")
    logging.getLogger("zizq.api.primary").log(TRACE, "api trace")
    logging.getLogger("zizq.commands.serve").debug("serve debug hidden")
    logging.getLogger("daphne").info("daphne info")
    assert [line.split(": ", 1)[1] for line in stream.getvalue().splitlines()] == [
        "api trace",
        "daphne info",
    ]


def test_reconfiguring_resets_previous_target_levels(output):
    output(filter_spec="zizq::api=trace")
    assert logging.getLogger("zizq.api").level == TRACE
    output()
    assert logging.getLogger("zizq.api").level == logging.NOTSET


def test_invalid_log_filter_falls_back_with_message(output):
    stderr = io.StringIO()
    stream = output(level="info", filter_spec="zizq=loud", stderr=stderr)
    assert stderr.getvalue() == (
        'invalid ZIZQ_LOG_FILTER: error parsing level filter: expected one of "off", '
        '"error", "warn", "info", "debug", "trace", or a number 0-5, falling back '
        "to defaults\n"
    )
    logging.getLogger("zizq.a").info("default filter in force")
    assert "default filter in force" in stream.getvalue()


@pytest.mark.parametrize(
    "spec, default, targets",
    [
        ("debug", logging.DEBUG, ()),
        ("warn,zizq=trace", logging.WARNING, (("zizq", TRACE),)),
        ("zizq::api::primary=info", OFF, (("zizq.api.primary", logging.INFO),)),
        (" info , zizq=DEBUG ,", logging.INFO, (("zizq", logging.DEBUG),)),
        ("3,zizq=0", logging.INFO, (("zizq", OFF),)),
        ("zizq", OFF, (("zizq", TRACE),)),
        ("off", OFF, ()),
        ("", OFF, ()),
    ],
)
def test_parse_filter(spec, default, targets):
    assert zlogging.parse_filter(spec) == (default, targets)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("zizq=loud", "error parsing level filter"),
        ("=info", "invalid filter directive"),
        ("zizq[span]=info", "invalid filter directive"),
        ("a b=info", "invalid filter directive"),
    ],
)
def test_parse_filter_rejects(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        zlogging.parse_filter(spec)


def test_configure_from_server_config(tmp_path, settings_from):
    from zizq_server.serve.config import ServerConfig

    config = ServerConfig.from_settings(
        settings_from({"ZIZQ_LOG_FORMAT": "json"}),
        {"log_to_disk": True, "root_dir": str(tmp_path)},
    )
    handler = zlogging.configure(config)
    try:
        logging.getLogger("zizq.t").info("to disk")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
        logging.getLogger("zizq").setLevel(logging.NOTSET)
    line = (tmp_path / "log" / "zizq.log").read_text()
    assert json.loads(line)["fields"]["message"] == "to disk"


# --- files -------------------------------------------------------------------


def write(handler, created, message="x" * 40):
    entry = record(msg=message)
    entry.created = created
    handler.handle(entry)


def rotated(directory):
    return sorted(path.name for path in directory.iterdir())


def test_file_rotates_by_size_keeping_max_files(tmp_path):
    handler = zlogging.RotatingLogFile(
        tmp_path / "logs", rotation="never", max_size_bytes=200, max_files=3
    )
    handler.setFormatter(zlogging.CompactFormatter())
    try:
        for number in range(20):
            write(handler, 1_000.0, f"line {number:02d}")
    finally:
        handler.close()
    directory = tmp_path / "logs"
    assert rotated(directory) == ["zizq.log", "zizq.log.1", "zizq.log.2", "zizq.log.3"]
    sizes = [(directory / name).stat().st_size for name in rotated(directory)]
    assert all(size <= 200 for size in sizes)
    newest = re.findall(r"line (\d+)", (directory / "zizq.log.1").read_text())
    older = re.findall(r"line (\d+)", (directory / "zizq.log.2").read_text())
    assert max(older) < min(newest)
    assert "line 19" in (directory / "zizq.log").read_text()


def test_file_rotates_when_the_period_rolls_over(tmp_path):
    handler = zlogging.RotatingLogFile(tmp_path, rotation="hourly", max_files=10)
    handler.setFormatter(zlogging.CompactFormatter())
    try:
        write(handler, 3_600 * 5 + 10, "hour five")
        write(handler, 3_600 * 5 + 3_599, "still five")
        write(handler, 3_600 * 6, "hour six")
    finally:
        handler.close()
    assert rotated(tmp_path) == ["zizq.log", "zizq.log.1"]
    assert "still five" in (tmp_path / "zizq.log.1").read_text()
    assert "hour six" in (tmp_path / "zizq.log").read_text()


def test_file_removes_files_beyond_a_lowered_max(tmp_path):
    for index in range(1, 6):
        (tmp_path / f"zizq.log.{index}").write_text("old\n")
    (tmp_path / "zizq.log").write_text("current\n")
    handler = zlogging.RotatingLogFile(
        tmp_path, rotation="never", max_size_bytes=10, max_files=2
    )
    handler.setFormatter(zlogging.CompactFormatter())
    try:
        write(handler, 1_000.0)
    finally:
        handler.close()
    assert rotated(tmp_path) == ["zizq.log", "zizq.log.1", "zizq.log.2"]
    assert (tmp_path / "zizq.log.1").read_text() == "current\n"


def test_file_destination_replaces_stdout(tmp_path, capsys, output):
    output(log_dir=tmp_path / "d", fmt="compact")
    logging.getLogger("zizq.t").info("only in the file")
    assert capsys.readouterr().out == ""
    assert "only in the file" in (tmp_path / "d" / "zizq.log").read_text()


# --- the request log ---------------------------------------------------------

REQUEST_FIELDS = {
    "method": "POST", "path": "/jobs?x=1", "status": 201, "latency_ms": 0.25
}


@pytest.fixture
def alone(monkeypatch):
    """Make the installed handler the root's only one (pytest adds its own,
    which would send every request record the stdlib way)."""

    def only(handler):
        monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
        return handler

    return only


async def past_the_flush():
    """Wait until a batch started now has been written (its flush is a
    timer due sooner than this one)."""
    await asyncio.sleep(2 * zlogging.FLUSH_SECONDS)


# The exchange whose record has REQUEST_FIELDS, 250 us after it started.
SCOPE = {"method": "POST", "path": "/jobs", "query_string": b"x=1"}
STARTED_NS = 5_000_000


def both_paths(logger, fast):
    """The request record of SCOPE the fast way or the stdlib's, from the
    same line (the pretty format shows it)."""
    (zlogging.log_exchange if fast else stdlib_request)(
        logger, SCOPE, 201, STARTED_NS
    )


def exchange(logger):
    zlogging.log_exchange(logger, SCOPE, 201, STARTED_NS)


def stdlib_request(logger, *exchange):
    logger.info("request", extra={"fields": REQUEST_FIELDS}, stacklevel=2)


@pytest.mark.parametrize("fmt", ["compact", "pretty", "json"])
def test_request_record_bytes_match_the_stdlib_path(fmt, output, alone, monkeypatch):
    stream = output(fmt=fmt)
    handler = alone(logging.getLogger().handlers[-1])
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.123456)
    monkeypatch.setattr(time, "perf_counter_ns", lambda: STARTED_NS + 250_999)
    logger = logging.getLogger("zizq.api.primary")

    async def run():
        both_paths(logger, fast=True)
        assert handler.pending.entries  # deferred to the batch's flush
        assert stream.getvalue() == ""
        await past_the_flush()
        fast = stream.getvalue()
        both_paths(logger, fast=False)
        return fast, stream.getvalue()[len(fast):]

    fast, slow = asyncio.run(run())
    assert fast == slow
    assert "request" in fast and "/jobs?x=1" in fast


def test_request_records_keep_their_place_among_other_records(output, alone):
    stream = output(fmt="compact")
    alone(logging.getLogger().handlers[-1])
    logger = logging.getLogger("zizq.api.primary")

    async def run():
        zlogging.log_info(logger, "request", [{"path": "/a"}])
        logger.warning("between")
        zlogging.log_info(logger, "request", [{"path": "/b"}])
        await past_the_flush()

    asyncio.run(run())
    lines = stream.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "request path=/a", "between", "request path=/b"
    ]


def test_inside_a_loop_warnings_are_flushed_at_once_and_info_after_a_while(
    output, alone
):
    written = io.BytesIO()  # what reached the "file": flushed bytes only
    output(stream=io.TextIOWrapper(io.BufferedWriter(written, buffer_size=1 << 16)))
    alone(logging.getLogger().handlers[-1])
    logger = logging.getLogger("zizq.api.primary")

    def lines():
        return written.getvalue().decode().splitlines()

    async def run():
        logger.info("first")
        zlogging.log_info(logger, "request", [{"path": "/a"}])
        assert lines() == []
        logger.warning("now")
        assert [line.split(": ", 1)[1] for line in lines()] == [
            "first", "request path=/a", "now"
        ]
        logger.info("later")
        await asyncio.sleep(0)
        assert len(lines()) == 3
        await past_the_flush()
        assert len(lines()) == 4

    asyncio.run(run())


def test_request_records_outside_a_loop_are_written_at_once(output, alone):
    stream = output(fmt="compact")
    alone(logging.getLogger().handlers[-1])
    admin = logging.getLogger("zizq.api.admin")
    zlogging.log_info(admin, "request", [{"status": 200}])
    assert stream.getvalue().endswith(" INFO zizq::api::admin: request status=200\n")


def test_request_records_reach_other_handlers_the_stdlib_way(
    output, caplog, monkeypatch
):
    stream = output(fmt="compact")
    monkeypatch.setattr(time, "perf_counter_ns", lambda: STARTED_NS + 250_999)
    with caplog.at_level(logging.INFO, logger="zizq.api.primary"):
        exchange(logging.getLogger("zizq.api.primary"))
    assert [r.fields for r in caplog.records] == [REQUEST_FIELDS]
    assert "request method=POST" in stream.getvalue()


def test_request_records_rotate_files_as_other_records_do(tmp_path, output, alone):
    output(
        fmt="json", log_dir=tmp_path, rotation="never", max_size_bytes=600, max_files=50
    )
    alone(logging.getLogger().handlers[-1])
    logger = logging.getLogger("zizq.api.primary")

    async def run():
        for number in range(30):
            zlogging.log_info(logger, "request", [{"n": number}])
            if number % 7 == 0:
                await past_the_flush()

    asyncio.run(run())
    logging.getLogger().handlers[-1].flush()
    names = rotated(tmp_path)
    assert len(names) > 5
    assert all((tmp_path / name).stat().st_size <= 600 for name in names)
    oldest_first = sorted(names[1:], key=lambda name: -int(name.rsplit(".", 1)[1]))
    numbers = []
    for name in [*oldest_first, "zizq.log"]:
        for line in (tmp_path / name).read_text().splitlines():
            numbers.append(json.loads(line)["fields"]["n"])
    assert numbers == list(range(30))


@pytest.mark.parametrize("fmt", ["compact", "json"])
def test_any_info_record_can_take_the_deferred_path(fmt, output, alone, monkeypatch):
    """``log_info``: what ``log_exchange`` does, for another message."""
    stream = output(fmt=fmt)
    handler = alone(logging.getLogger().handlers[-1])
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.123456)
    logger = logging.getLogger("zizq.cron")
    fields = {"group": "g", "entry": "e", "next_enqueue_at": "Some(1000)"}

    async def run():
        zlogging.log_info(logger, "cron job enqueued", [fields])
        assert handler.pending.entries and stream.getvalue() == ""
        await past_the_flush()
        fast = stream.getvalue()
        logger.info("cron job enqueued", extra={"fields": fields})
        return fast, stream.getvalue()[len(fast):]

    fast, slow = asyncio.run(run())
    assert fast == slow
    assert "cron job enqueued" in fast and "Some(1000)" in fast


def test_many_records_at_once_on_either_path(output, alone, caplog):
    stream = output(fmt="compact")
    logger = logging.getLogger("zizq.cron")
    many = [{"entry": "a"}, {"entry": "b"}, {"entry": "c"}]
    with caplog.at_level(logging.INFO, logger="zizq.cron"):
        zlogging.log_info(logger, "cron job enqueued", many)  # caplog sees them
    assert [r.fields for r in caplog.records] == many
    alone(logging.getLogger().handlers[-1])

    async def run():
        zlogging.log_info(logger, "cron job enqueued", many)
        await past_the_flush()

    asyncio.run(run())
    lines = stream.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        f"cron job enqueued entry={name}" for name in "abcabc"
    ]
    assert len({line.split()[0] for line in lines[3:]}) == 1  # one moment
