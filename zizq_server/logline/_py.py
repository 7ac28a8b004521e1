"""Log line pieces in pure Python: the reference for the compiled ``_cy``.

What every record of the text and json formats spends its time on lives
here, because the request log formats one record per HTTP request:

* ``Stamps.text(created)``: the RFC 3339 UTC timestamp with microseconds,
  ``2026-02-02T02:40:00.123456Z``; the whole-second prefix is cached.
* ``level_label(levelno)``: tracing's level name for a stdlib level.
* ``field_text(value)``: a field as the text formats print it (a
  ``Quoted`` string in JSON double quotes, ``true``/``false``, anything
  else as ``str``).
* ``compact_line(stamps, created, levelno, target, message, fields)``: the
  compact format's whole line, ``<ts> <LEVEL> <target>: <message> k=v``.
* ``target(targets, name, dumps)``: a logger name's target (``zizq.api``
  -> ``zizq::api``), JSON-encoded by ``dumps`` unless it is None, cached
  in ``targets``.
* ``compact_lines(stamps, targets, entries)``: ``compact_line`` of each
  deferred INFO record (``Pending``'s tuples) at once, with ``target``.
* ``json_line(stamps, created, levelno, json_target, message, fields,
  dumps)`` and ``json_lines(stamps, json_targets, dumps, entries)``: the
  json format's line(s), ``{"timestamp":...,"level":...,"fields":{"message":
  ...},"target":...}``, with ``dumps`` (a value to compact JSON, UTF-8
  bytes, as ``orjson.dumps``) for the fields and each target's JSON string
  cached in ``json_targets``.
* ``request_fields(scope, status, started)``: the fields of an HTTP
  exchange's ``request`` record (API.md's request log): method, path with
  its query, status, and ``latency_ms`` since ``started``
  (``time.perf_counter_ns()``) in whole microseconds.
* ``Pending``: a handler's deferred INFO records (the request log's), kept
  as tuples when that handler alone would see them, and flushed in batches
  (zizq_server.logging says why).

Both twins give the same text for every input
(tests/zizq_server/test_logline.py).
"""

import asyncio
import json
import logging
import os
import sys
import time

from .values import Quoted


class Stamps:
    """Timestamps of one formatter, with the last whole second's text."""

    __slots__ = ("_second", "_prefix")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def text(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        micros = int((created - second) * 1_000_000)
        return f"{self._prefix}.{micros:06d}Z"


def level_label(levelno: int) -> str:
    """The tracing level name for a stdlib level number."""
    if levelno >= 40:
        return "ERROR"
    if levelno >= 30:
        return "WARN"
    if levelno >= 20:
        return "INFO"
    if levelno >= 10:
        return "DEBUG"
    return "TRACE"


def field_text(value) -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is Quoted:
        return json.dumps(value, ensure_ascii=False)
    if kind is bool:
        return "true" if value else "false"
    return str(value)


def compact_line(stamps, created, levelno, target, message, fields) -> str:
    line = f"{stamps.text(created)} {level_label(levelno):>5} {target}: {message}"
    if fields:
        line += "".join([f" {key}={field_text(v)}" for key, v in fields.items()])
    return line


def target(targets: dict, name: str, dumps) -> str:
    """A logger name's cached target, JSON-encoded by ``dumps`` if given."""
    found = targets.get(name)
    if found is None:
        found = name.replace(".", "::")
        if dumps is not None:
            found = dumps(found).decode()
        targets[name] = found
    return found


def compact_lines(stamps, targets: dict, entries: list) -> list:
    lines = []
    for created, name, message, fields, _, _ in entries:
        lines.append(
            compact_line(
                stamps, created, 20, target(targets, name, None), message, fields
            )
        )
    return lines


def json_line(stamps, created, levelno, json_target, message, fields, dumps) -> str:
    # Only the fields need encoding: the timestamp and level are plain
    # ASCII, and the target's JSON string is the caller's. Spliced, the line
    # is the bytes of dumping the whole object, a fifth cheaper.
    body = {"message": message, **fields} if fields else {"message": message}
    return (
        f'{{"timestamp":"{stamps.text(created)}",'
        f'"level":"{level_label(levelno)}",'
        f'"fields":{dumps(body).decode()},"target":{json_target}}}'
    )


def json_lines(stamps, json_targets: dict, dumps, entries: list) -> list:
    lines = []
    for created, name, message, fields, _, _ in entries:
        json_target = target(json_targets, name, dumps)
        lines.append(
            json_line(stamps, created, 20, json_target, message, fields, dumps)
        )
    return lines


def request_fields(scope, status: int, started: int) -> dict:
    path = scope["path"]
    query = scope.get("query_string")
    if query:
        path = f"{path}?{query.decode('latin-1')}"
    # Whole microseconds in ms: round(x, 3) of a float costs twice this.
    latency_ms = (time.perf_counter_ns() - started) // 1000 / 1000
    return {
        "method": scope["method"],
        "path": path,
        "status": status,
        "latency_ms": latency_ms,
    }


class Pending:
    """The deferred INFO records of one handler, flushed in batches.

    ``defer(logger, message, fields, depth)`` keeps ``(created, logger name,
    message, fields, file name, line)`` when ``handler`` alone would see an
    INFO record of ``logger``, unfiltered and formatted by a
    ``formatter_class``, and returns False otherwise (the caller then logs
    it the stdlib's way); ``defer_many`` does so for many records at once.
    The caller shown is ``depth`` frames above the function calling
    ``defer``. ``handler.flush()`` runs ``flush_seconds``
    after the first record of a batch while a loop runs, at once outside
    one; it calls ``take()``, which gives the records and keeps none.
    """

    def __init__(self, handler, formatter_class, flush_seconds: float) -> None:
        self.entries: list[tuple] = []
        self._handler = handler
        self._formatter_class = formatter_class
        self._flush_seconds = flush_seconds
        self._loop = None  # the loop on which a flush is due
        self._basenames: dict[str, str] = {}

    def take(self) -> list[tuple]:
        entries, self.entries = self.entries, []
        return entries

    def defer(self, logger, message: str, fields, depth: int) -> bool:
        return self.defer_many(logger, message, (fields,), depth + 1)

    def defer_many(self, logger, message: str, many, depth: int) -> bool:
        """``defer`` of one record of ``message`` per fields in ``many``,
        all with the same time and caller."""
        if not self._sole(logger):
            return False
        if logging._srcfile is None:  # what the stdlib records without a caller
            filename, lineno = "(unknown file)", 0
        else:
            caller = sys._getframe(depth + 1)
            path = caller.f_code.co_filename
            filename = self._basenames.get(path)
            if filename is None:
                filename = self._basenames[path] = os.path.basename(path)
            lineno = caller.f_lineno
        created, name = time.time(), logger.name
        self.entries.extend(
            [(created, name, message, fields, filename, lineno) for fields in many]
        )
        self.flush_soon()
        return True

    def flush_soon(self) -> None:
        """Flush the handler ``flush_seconds`` from now (now, outside a loop)."""
        # The low-level twin of get_running_loop: None, not an exception,
        # outside a loop.
        loop = asyncio._get_running_loop()
        if loop is None:
            self._handler.flush()
        elif self._loop is not loop:  # no flush due on this loop yet
            self._loop = loop
            loop.call_later(self._flush_seconds, self._due)

    def _due(self) -> None:
        self._loop = None
        self._handler.flush()

    def _sole(self, logger) -> bool:
        handler = self._handler
        if logger.filters or handler.filters or handler.level > logging.INFO:
            return False
        if not isinstance(handler.formatter, self._formatter_class):
            return False
        while logger.parent is not None:
            if logger.handlers or not logger.propagate:
                return False
            logger = logger.parent
        handlers = logger.handlers
        return len(handlers) == 1 and handlers[0] is handler
