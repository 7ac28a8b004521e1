"""Process-wide log output in the shapes of spec/ADMIN_AND_CLI.md section 3.4.

``configure(config)`` sets up the whole process from a ``ServerConfig``;
``configure_output(fmt=..., ...)`` takes the same settings one by one.

Conventions for code that logs:

* Loggers are stdlib loggers named with dots under ``zizq``, e.g.
  ``logging.getLogger("zizq.commands.serve")``; the name is shown as the
  tracing-style target ``zizq::commands::serve``.
* Structured fields go in ``extra={"fields": {...}}`` and print after the
  message in insertion order: `` key=value`` in compact, ``key: value`` in
  pretty, members of ``"fields"`` in json.
* A field of type ``Quoted`` (``Quoted("primary")``) prints in double quotes
  in the text formats, the way tracing prints string literals; plain ``str``,
  ``int`` and ``float`` print bare. JSON keeps ints and floats as numbers and
  every string as a string.
* ``TRACE`` (5) sits below DEBUG. On hot paths (one ``request`` record per
  HTTP request) check ``logger.isEnabledFor(level)`` before building fields.
* The request log writes through ``log_exchange``, whose records skip the
  stdlib's ``LogRecord`` and handler chain (see below); ``log_info`` takes
  that path for other records written by the thousand, many at a time.

Filtering follows tracing's EnvFilter: the default directive is
``warn,zizq=<level>`` and ``ZIZQ_LOG_FILTER`` replaces it. A directive's
target maps onto the logger of the same dotted name, so the stdlib hierarchy
gives tracing's "longest prefix wins"; the bare level becomes the root level
(tracing disables unmatched targets when no bare level is given).

Formatters build each line from the pieces of ``zizq_server.logline``
(compiled, with a Python twin): the timestamp behind its second's cached
prefix, the level, each logger name's cached target, the fields. The
request log runs once per HTTP request. Configuring also stops
``LogRecord`` from collecting thread and process data no format shows.

The request record went through ``Logger.info`` at ~60k instructions, a
quarter of a single enqueue: a ``LogRecord`` of twenty attributes, the
handler chain and its lock, the formatter, a write. ``log_exchange`` keeps
what the record needs (time, logger, fields, caller) in the installed
handler's ``logline.Pending``, and the handler formats the records of the
last ``FLUSH_SECONDS`` in one pass (the compact format in one compiled
call) and writes them in one call, then or before any other record it is
given (so the order of lines is the order of calls), or at once outside a
loop. The write is what batching is for: a write to a pipe costs as much
as formatting dozens of records (round 11 of docs/performance.md), so a
flush per loop turn, or per millisecond, cost more than the records. A
line is built by the same formatter code whether it comes from a
``LogRecord`` or from ``Pending``, so the bytes are the same in every
format and to every destination. Whenever something else could see the
record (another handler or a filter on its way, a formatter not ours) it
goes through ``Logger.info`` as before. Records at WARN and above are
written at once, so a crash right after one still leaves it on screen.
"""

import functools
import json
import logging
import re
import sys
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from queue_core import defaults

from . import logline
from .logline import Quoted, compact_line, field_text, level_label

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None

TRACE = 5
OFF = logging.CRITICAL + 1
logging.addLevelName(TRACE, "TRACE")

LOG_FILE_NAME = "zizq.log"

_LEVELS = {
    "off": OFF,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}
_LEVEL_NUMBERS = dict(zip("012345", _LEVELS.values()))
_LEVEL_ERROR = (
    'error parsing level filter: expected one of "off", "error", "warn", '
    '"info", "debug", "trace", or a number 0-5'
)
_TARGET = re.compile(r"[\w:.\-]+")
_COLOURS = {"TRACE": "35", "DEBUG": "34", "INFO": "32", "WARN": "33", "ERROR": "31"}
_ROTATION_SECONDS = {"daily": 86_400, "hourly": 3_600, "never": 0}


# --- formats ----------------------------------------------------------------


class _ZizqFormatter(logging.Formatter):
    """Shared pieces: RFC 3339 UTC timestamps, targets, message text."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps = logline.Stamps()
        self._targets: dict[str, str] = {}

    def target(self, name: str) -> str:
        return logline.target(self._targets, name, None)

    def format(self, record: logging.LogRecord) -> str:
        return self.line(
            record.created,
            record.levelno,
            record.name,
            self.message(record),
            getattr(record, "fields", None),
            record.filename,
            record.lineno,
        )

    def line(self, created, levelno, name, message, fields, filename, lineno) -> str:
        """The text of one record (``format``'s, from its parts)."""
        raise NotImplementedError

    def lines(self, entries: list) -> list[str]:
        """The text of each deferred INFO record (``logline.Pending``'s)."""
        line = self.line
        return [
            line(created, logging.INFO, name, message, fields, filename, lineno)
            for created, name, message, fields, filename, lineno in entries
        ]

    def message(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        return message


class CompactFormatter(_ZizqFormatter):
    """``<ts> <LEVEL> <target>: <message> key=value ...`` on one line."""

    def line(self, created, levelno, name, message, fields, filename, lineno) -> str:
        return compact_line(
            self.stamps, created, levelno, self.target(name), message, fields
        )

    def lines(self, entries: list) -> list[str]:
        return logline.compact_lines(self.stamps, self._targets, entries)


class JsonFormatter(_ZizqFormatter):
    """One compact JSON object per record: timestamp, level, fields, target."""

    def __init__(self) -> None:
        super().__init__()
        self._json_targets: dict[str, str] = {}

    def line(self, created, levelno, name, message, fields, filename, lineno) -> str:
        target = logline.target(self._json_targets, name, _dumps)
        return logline.json_line(
            self.stamps, created, levelno, target, message, fields, _dumps
        )

    def lines(self, entries: list) -> list[str]:
        return logline.json_lines(self.stamps, self._json_targets, _dumps, entries)


# A value as compact JSON, UTF-8 bytes; a partial, not a function, so
# that the compiled line builders call orjson with no Python frame between.
if orjson is not None:
    _dumps = functools.partial(orjson.dumps, default=str)

else:  # pragma: no cover - orjson is a dependency

    def _dumps(event: Any) -> bytes:
        return json.dumps(
            event, separators=(",", ":"), ensure_ascii=False, default=str
        ).encode()


class PrettyFormatter(_ZizqFormatter):
    """Multi-line human format; ANSI colours only when ``ansi`` is true."""

    def __init__(self, ansi: bool = False) -> None:
        super().__init__()
        self.ansi = ansi

    def line(self, created, levelno, name, message, fields, filename, lineno) -> str:
        label = level_label(levelno)
        level = f"{label:>5}"
        stamp = self.stamps.text(created)
        head = f"{self.target(name)}: {message}"
        where = f"at {filename}:{lineno}"
        fields = fields or {}
        if self.ansi:
            colour = _COLOURS[label]
            stamp = f"\x1b[2m{stamp}\x1b[0m"
            level = f"\x1b[{colour}m{level}\x1b[0m"
            head = f"\x1b[1;{colour}m{head}\x1b[0m"
            where = f"\x1b[2m{where}\x1b[0m"
            pairs = [
                f"\x1b[3m{key}\x1b[0m: {field_text(v)}" for key, v in fields.items()
            ]
        else:
            pairs = [f"{key}: {field_text(value)}" for key, value in fields.items()]
        head = ", ".join([head, *pairs])
        return f"  {stamp} {level} {head}\n    {where}\n"


def make_formatter(fmt: str, *, ansi: bool = False) -> logging.Formatter:
    """The formatter for ``pretty``, ``compact`` or ``json``."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "pretty":
        return PrettyFormatter(ansi=ansi)
    return CompactFormatter()


# --- filter -----------------------------------------------------------------


class LogFilter(NamedTuple):
    """Root level plus per-logger levels, from an EnvFilter-style string."""

    default: int
    targets: tuple[tuple[str, int], ...]


def default_filter(level: str) -> LogFilter:
    """``warn,zizq=<level>``: other libraries at warn, Zizq at ``level``."""
    return LogFilter(logging.WARNING, (("zizq", _LEVELS[level]),))


def parse_filter(spec: str) -> LogFilter:
    """Parse ``level`` and ``target=level`` directives separated by commas.

    Raises ``ValueError`` with tracing's wording for a bad directive.
    """
    default = OFF
    targets: dict[str, int] = {}
    for directive in filter(None, (part.strip() for part in spec.split(","))):
        target, equals, level = directive.partition("=")
        if not equals:
            if _is_level(directive):
                default = _filter_level(directive)
                continue
            target, level = directive, "trace"
        if not _TARGET.fullmatch(target):
            raise ValueError("invalid filter directive")
        targets[target.replace("::", ".")] = _filter_level(level)
    return LogFilter(default, tuple(targets.items()))


def _is_level(text: str) -> bool:
    return text.lower() in _LEVELS or text in _LEVEL_NUMBERS


def _filter_level(text: str) -> int:
    if not text:
        return logging.ERROR  # tracing reads an empty level as "error"
    level = _LEVELS.get(text.lower(), _LEVEL_NUMBERS.get(text))
    if level is None:
        raise ValueError(_LEVEL_ERROR)
    return level


def _filter_or_default(spec: str | None, level: str, stderr: TextIO) -> LogFilter:
    if spec is None:
        return default_filter(level)
    try:
        return parse_filter(spec)
    except ValueError as exc:
        stderr.write(f"invalid ZIZQ_LOG_FILTER: {exc}, falling back to defaults\n")
        return default_filter(level)


# --- the request log -----------------------------------------------------------


# How long an INFO record written inside a running loop may wait to be
# written: 10 ms late on screen at most, ~200 requests per write at 20k/s.
FLUSH_SECONDS = 0.01


class _Batched:
    """A handler's request records, formatted and written in batches.

    ``log_exchange`` (``log_info``) hands them to ``self.pending``
    (``logline.Pending``), which keeps them while this handler alone would
    see them; the subclass writes what ``_request_lines`` gives it before
    any other record (``emit``) and in ``flush``, which runs
    ``FLUSH_SECONDS`` after the first record of a batch, at exit and on
    close.
    """

    def _start_batching(self) -> None:
        self.pending = logline.Pending(self, _ZizqFormatter, FLUSH_SECONDS)

    def _request_lines(self) -> tuple[list, list[str]]:
        """The pending records (none left) and their lines, in order.

        All at once, or, when one of them fails to format, one by one, to
        report that one (``handleError``) and write the others.
        """
        entries = self.pending.take()
        try:
            return entries, self.formatter.lines(entries)
        except Exception:
            pass
        written, lines = [], []
        for entry in entries:
            try:
                (text,) = self.formatter.lines([entry])
            except Exception:
                self.handleError(_request_record(entry))
            else:
                written.append(entry)
                lines.append(text)
        return written, lines


def log_exchange(logger: logging.Logger, scope, status: int, started: int) -> None:
    """Write the INFO record ``request`` of one HTTP exchange that started
    at ``started`` (``time.perf_counter_ns()``) on ``logger``.

    The caller has checked ``logger.isEnabledFor(logging.INFO)``. The
    record's caller (the pretty format's ``at file:line``) is the caller of
    this function, on either path.
    """
    fields = logline.request_fields(scope, status, started)
    pending = _Installed.pending
    if pending is None or not pending.defer(logger, "request", fields, 1):
        logger.info("request", extra={"fields": fields}, stacklevel=2)


def log_info(logger: logging.Logger, message: str, many) -> None:
    """One INFO record of ``message`` for each fields dict in ``many``, all
    of this moment, on ``log_exchange``'s path: for the records a busy
    server writes by the thousand (``cron job enqueued``: a second with
    10,000 due entries writes 10,000, in passes of 1,000)."""
    pending = _Installed.pending
    if pending is None or not pending.defer_many(logger, message, many, 1):
        for fields in many:
            logger.info(message, extra={"fields": fields}, stacklevel=2)


def _request_record(entry: tuple) -> logging.LogRecord:
    """The ``LogRecord`` of a deferred record (for ``handleError``)."""
    created, name, message, fields, filename, lineno = entry
    record = logging.getLogger(name).makeRecord(
        name, logging.INFO, filename, lineno, message, (), None,
        extra={"fields": fields},
    )
    record.created = created
    return record


# --- files ------------------------------------------------------------------


class RotatingLogFile(_Batched, logging.Handler):
    """Writes ``<directory>/zizq.log``, rotating by UTC period and by size.

    A rotation renames ``zizq.log`` to ``zizq.log.1`` after shifting older
    files up by one (``.1`` is always the newest) and deletes those past
    ``max_files``. ``rotation="never"`` rotates by size only; a
    ``max_size_bytes`` of 0 rotates by period only. An existing file
    belongs to the period of its modification time.
    """

    def __init__(
        self,
        directory: str | PathLike[str],
        *,
        rotation: str = defaults.DEFAULT_LOG_ROTATION,
        max_size_bytes: int = defaults.DEFAULT_LOG_MAX_SIZE_BYTES,
        max_files: int = defaults.DEFAULT_LOG_MAX_FILES,
    ) -> None:
        super().__init__()
        self._start_batching()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / LOG_FILE_NAME
        self._period_seconds = _ROTATION_SECONDS[rotation]
        self._max_size = max_size_bytes
        self._max_files = max_files
        self._file = open(self.path, "ab")
        self._size = self._file.tell()
        self._period = self._period_of(self.path.stat().st_mtime)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.pending.entries:
                self._write_requests()
            self._write(self.format(record), record.created)
            self._file.flush()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock:
            if self.pending.entries:
                self._write_requests()
                self._file.flush()

    def close(self) -> None:
        with self.lock:
            self.flush()
            self._file.close()
        super().close()

    def _write_requests(self) -> None:
        for entry, line in zip(*self._request_lines()):
            try:
                self._write(line, entry[0])
            except Exception:
                self.handleError(_request_record(entry))

    def _write(self, line: str, created: float) -> None:
        data = (line + "\n").encode("utf-8", "backslashreplace")
        if self._file.closed:
            # A record after close(): logging.shutdown() closes handlers
            # at exit, and asyncio still reports from garbage collection
            # after that. Append it, as logging.FileHandler does,
            # rather than print a "Logging error" traceback on stderr.
            self._file = open(self.path, "ab")
            self._size = self._file.tell()
        period = self._period_of(created)
        if self._size and self._must_rotate(period, len(data)):
            self._rotate()
        self._period = period
        self._file.write(data)
        self._size += len(data)

    def _period_of(self, timestamp: float) -> int:
        return int(timestamp // self._period_seconds) if self._period_seconds else 0

    def _must_rotate(self, period: int, incoming: int) -> bool:
        if period != self._period:
            return True
        return 0 < self._max_size < self._size + incoming

    def _rotate(self) -> None:
        self._file.close()
        for index in sorted(self._rotated_indexes(), reverse=True):
            rotated = self._numbered(index)
            if index >= self._max_files:
                rotated.unlink()
            else:
                rotated.rename(self._numbered(index + 1))
        if self._max_files:
            self.path.rename(self._numbered(1))
        else:
            self.path.unlink()
        self._file = open(self.path, "ab")
        self._size = 0

    def _numbered(self, index: int) -> Path:
        return self.directory / f"{LOG_FILE_NAME}.{index}"

    def _rotated_indexes(self) -> list[int]:
        pattern = re.compile(re.escape(LOG_FILE_NAME) + r"\.([0-9]+)")
        names = (pattern.fullmatch(path.name) for path in self.directory.iterdir())
        return [int(match.group(1)) for match in names if match]


# --- process set-up ----------------------------------------------------------


class _Installed:
    """What the last ``configure`` call changed, so the next one undoes it."""

    handler: logging.Handler | None = None
    pending: Any = None  # the handler's logline.Pending, if it batches
    loggers: tuple[str, ...] = ()


class BatchFlushedStreamHandler(_Batched, logging.StreamHandler):
    """A stream handler that flushes once per batch, not per record.

    The request log writes a record per HTTP request; a flush (a write
    system call) for each cost more than formatting it. INFO and lower
    records written while an event loop runs are flushed ``FLUSH_SECONDS``
    after the first of them, so they still appear promptly; warnings and
    errors, and every record outside a loop (start-up lines that clients
    wait for, shutdown), are flushed at once.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._start_batching()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.pending.entries:
                self._write_requests()
            self.stream.write(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            self.flush()
        else:
            self.pending.flush_soon()

    def flush(self) -> None:
        with self.lock:
            if self.pending.entries:
                self._write_requests()
        super().flush()

    def _write_requests(self) -> None:
        entries, lines = self._request_lines()
        if not lines:
            return
        try:
            self.stream.write(self.terminator.join(lines) + self.terminator)
        except Exception:
            self.handleError(_request_record(entries[0]))


def configure(
    config: Any, *, stream: TextIO | None = None, stderr: TextIO | None = None
) -> logging.Handler:
    """Set up logging for a ``ServerConfig`` (or anything with its fields).

    Reads ``log_format``, ``log_level``, ``log_filter``, ``log_directory``
    (None = ``stream``, default stdout), ``log_rotation``,
    ``log_max_size_bytes`` and ``log_max_files``.
    """
    return configure_output(
        fmt=config.log_format,
        level=config.log_level,
        filter_spec=config.log_filter,
        log_dir=config.log_directory,
        rotation=config.log_rotation,
        max_size_bytes=config.log_max_size_bytes,
        max_files=config.log_max_files,
        stream=stream,
        stderr=stderr,
    )


def configure_output(
    *,
    fmt: str,
    level: str = defaults.DEFAULT_LOG_LEVEL,
    filter_spec: str | None = None,
    log_dir: str | PathLike[str] | None = None,
    rotation: str = defaults.DEFAULT_LOG_ROTATION,
    max_size_bytes: int = defaults.DEFAULT_LOG_MAX_SIZE_BYTES,
    max_files: int = defaults.DEFAULT_LOG_MAX_FILES,
    stream: TextIO | None = None,
    stderr: TextIO | None = None,
) -> logging.Handler:
    """Send every log record of the process to one destination and format.

    ``fmt`` is ``pretty``, ``compact`` or ``json``. Records go to ``stream``
    (default stdout), or only to ``<log_dir>/zizq.log`` when ``log_dir`` is
    given. ``filter_spec`` (``ZIZQ_LOG_FILTER``) replaces the default
    ``warn,zizq=<level>``; an invalid one is reported on ``stderr`` and the
    default used. Calling again replaces the previous set-up; the installed
    handler is returned.
    """
    log_filter = _filter_or_default(filter_spec, level, stderr or sys.stderr)
    if log_dir is None:
        stream = stream or sys.stdout
        handler: logging.Handler = BatchFlushedStreamHandler(stream)
        ansi = stream.isatty()
    else:
        handler = RotatingLogFile(
            log_dir,
            rotation=rotation,
            max_size_bytes=max_size_bytes,
            max_files=max_files,
        )
        ansi = False
    handler.setFormatter(make_formatter(fmt, ansi=ansi))
    _install(handler, log_filter, needs_caller=fmt == "pretty")
    return handler


_STDLIB_SRCFILE = logging._srcfile


def _install(
    handler: logging.Handler, log_filter: LogFilter, needs_caller: bool
) -> None:
    root = logging.getLogger()
    if _Installed.handler is not None:
        root.removeHandler(_Installed.handler)
        _Installed.handler.close()
    for name in _Installed.loggers:
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.setLevel(log_filter.default)
    for name, level in log_filter.targets:
        logging.getLogger(name).setLevel(level)
    root.addHandler(handler)
    _Installed.handler = handler
    _Installed.pending = getattr(handler, "pending", None)
    _Installed.loggers = tuple(name for name, _ in log_filter.targets)
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # Only the pretty format shows the caller's file and line; otherwise skip
    # the frame walk that finds them (the logging docs' own optimisation).
    logging._srcfile = _STDLIB_SRCFILE if needs_caller else None
