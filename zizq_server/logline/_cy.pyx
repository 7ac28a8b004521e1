# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Log line pieces, compiled (twin of ``_py``, which says what each does).

The timestamp's six digits are written behind the cached prefix of its
second, each line is joined once from its pieces (a deferred record's
fields dumped alone, behind its message's cached JSON), a batch of lines
is one call, and so is keeping a record (``Pending.defer``: the handler-chain
check, the caller, the tuple, the flush timer). The rules for field values
are ``_py``'s, with ``Quoted`` strings still encoded by ``json.dumps``
(rare, and the reference for escaping).
"""

from cpython.unicode cimport PyUnicode_DecodeASCII, PyUnicode_DecodeUTF8
from libc.stdio cimport snprintf
from libc.string cimport memcpy

import asyncio
import json
import logging
import os
import sys
import time

from .values import Quoted

cdef object _dumps = json.dumps
cdef object _Quoted = Quoted
cdef object _running_loop = asyncio._get_running_loop
cdef object _getframe = sys._getframe
cdef object _basename = os.path.basename
cdef int _INFO = logging.INFO


cdef class Stamps:
    """Timestamps of one formatter, with the last whole second's text."""

    cdef long long _second
    cdef char _buffer[40]  # "YYYY-MM-DDTHH:MM:SS" then ".uuuuuuZ"
    cdef int _prefix_size

    def __cinit__(self):
        self._second = -1
        self._prefix_size = 0

    cpdef str text(self, double created):
        cdef long long second = <long long>created
        cdef long long micros
        cdef bytes prefix
        cdef int size
        if second != self._second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
            self._prefix_size = min(len(prefix), 24)
            memcpy(self._buffer, <char*>prefix, self._prefix_size)
            self._second = second
        micros = <long long>((created - <double>second) * 1000000.0)
        if not 0 <= micros < 1000000:  # not a time a clock gives
            size = snprintf(
                self._buffer + self._prefix_size, 24, ".%06lldZ", micros
            )
            return PyUnicode_DecodeASCII(self._buffer, self._prefix_size + size, NULL)
        cdef char* digits = self._buffer + self._prefix_size
        digits[0] = b"."
        for size in range(6, 0, -1):
            digits[size] = <char>(48 + micros % 10)
            micros //= 10
        digits[7] = b"Z"
        return PyUnicode_DecodeASCII(self._buffer, self._prefix_size + 8, NULL)


cpdef str level_label(int levelno):
    if levelno >= 40:
        return "ERROR"
    if levelno >= 30:
        return "WARN"
    if levelno >= 20:
        return "INFO"
    if levelno >= 10:
        return "DEBUG"
    return "TRACE"


cdef str _padded_label(int levelno):
    """``level_label`` right-aligned to five characters."""
    label = level_label(levelno)
    return " " + label if len(label) == 4 else label


cpdef str field_text(object value):
    cdef type kind = type(value)
    if kind is str:
        return <str>value
    if kind is _Quoted:
        return _dumps(value, ensure_ascii=False)
    if kind is bool:
        return "true" if value else "false"
    return str(value)


def compact_line(
    Stamps stamps, double created, int levelno, str target, str message, fields
):
    return _compact_line(stamps, created, levelno, target, message, fields)


cdef str _compact_line(
    Stamps stamps, double created, int levelno, str target, str message, fields
):
    cdef list parts = [stamps.text(created), " ", _padded_label(levelno), " ",
                       target, ": ", message]
    cdef dict items
    if fields:
        items = fields if type(fields) is dict else dict(fields)
        for key, value in items.items():
            parts.append(" ")
            parts.append(key if type(key) is str else str(key))
            parts.append("=")
            parts.append(field_text(value))
    return "".join(parts)


cpdef str target(dict targets, str name, dumps):
    """A logger name's cached target, JSON-encoded by ``dumps`` if given."""
    found = targets.get(name)
    if found is None:
        found = name.replace(".", "::")
        if dumps is not None:
            found = _text(dumps(found))
        targets[name] = found
    return found


def compact_lines(Stamps stamps, dict targets, list entries):
    cdef list lines = []
    cdef tuple entry
    for entry in entries:
        name = target(targets, entry[1], None)
        lines.append(_compact_line(stamps, entry[0], 20, name, entry[2], entry[3]))
    return lines


cdef inline str _text(bytes encoded):
    return PyUnicode_DecodeUTF8(encoded, len(encoded), NULL)


# The JSON text of ``{"message": <message>,``, by message and dumps, for
# the messages of deferred records (``json_lines``: the request log's and
# the others written by the thousand), so that a record's fields are
# dumped alone and spliced behind it; bounded all the same.
cdef dict _message_heads = {}
cdef int _MAX_MESSAGE_HEADS = 64


cdef str _body(str message, fields, dumps, bint cache):
    """The text of ``dumps({"message": message, **fields})``."""
    cdef str head
    cdef dict body
    if not fields:
        return _text(dumps({"message": message}))
    if type(fields) is not dict or "message" in fields:
        body = {"message": message}
        body.update(fields)
        return _text(dumps(body))
    key = (message, dumps)  # another dumps may escape otherwise
    head = _message_heads.get(key) if cache else None
    if head is None:
        head = '{"message":' + _text(dumps(message)) + ","
        if cache and len(_message_heads) < _MAX_MESSAGE_HEADS:
            _message_heads[key] = head
    return head + _text(dumps(fields))[1:]


def json_line(
    Stamps stamps, double created, int levelno, str json_target, str message,
    fields, dumps,
):
    return _json_line(
        stamps, created, levelno, json_target, message, fields, dumps, False
    )


cdef str _json_line(
    Stamps stamps, double created, int levelno, str json_target, str message,
    fields, dumps, bint cache,
):
    return "".join([
        '{"timestamp":"', stamps.text(created), '","level":"',
        level_label(levelno), '","fields":', _body(message, fields, dumps, cache),
        ',"target":', json_target, "}",
    ])


def json_lines(Stamps stamps, dict json_targets, dumps, list entries):
    cdef list lines = []
    cdef tuple entry
    for entry in entries:
        name = target(json_targets, entry[1], dumps)
        lines.append(
            _json_line(stamps, entry[0], 20, name, entry[2], entry[3], dumps, True)
        )
    return lines


def request_fields(dict scope, status, long long started):
    path = scope["path"]
    query = scope.get("query_string")
    if query:
        path = path + "?" + query.decode("latin-1")
    cdef long long micros = (time.perf_counter_ns() - started) // 1000
    return {
        "method": scope["method"],
        "path": path,
        "status": status,
        "latency_ms": micros / 1000.0,
    }


cdef class Pending:
    """The deferred INFO records of one handler (``_py.Pending``)."""

    cdef public list entries
    cdef object _handler
    cdef object _formatter_class
    cdef double _flush_seconds
    cdef object _loop
    cdef dict _basenames

    def __init__(self, handler, formatter_class, double flush_seconds):
        self.entries = []
        self._handler = handler
        self._formatter_class = formatter_class
        self._flush_seconds = flush_seconds
        self._loop = None
        self._basenames = {}

    def take(self):
        cdef list entries = self.entries
        self.entries = []
        return entries

    def defer(self, logger, str message, fields, int depth):
        return self.defer_many(logger, message, (fields,), depth)

    def defer_many(self, logger, str message, many, int depth):
        cdef object filename
        cdef object lineno
        if not self._sole(logger):
            return False
        if logging._srcfile is None:
            filename, lineno = "(unknown file)", 0
        else:
            # A compiled function has no frame: ``depth`` counts from the
            # Python function that called this one.
            caller = _getframe(depth)
            path = caller.f_code.co_filename
            filename = self._basenames.get(path)
            if filename is None:
                filename = self._basenames[path] = _basename(path)
            lineno = caller.f_lineno
        created, name = time.time(), logger.name
        entries = self.entries
        for fields in many:
            entries.append((created, name, message, fields, filename, lineno))
        self.flush_soon()
        return True

    cpdef flush_soon(self):
        loop = _running_loop()
        if loop is None:
            self._handler.flush()
        elif self._loop is not loop:
            self._loop = loop
            loop.call_later(self._flush_seconds, self._due)

    def _due(self):
        self._loop = None
        self._handler.flush()

    cdef bint _sole(self, logger) except -1:
        handler = self._handler
        if logger.filters or handler.filters or handler.level > _INFO:
            return False
        if not isinstance(handler.formatter, self._formatter_class):
            return False
        parent = logger.parent
        while parent is not None:
            if logger.handlers or not logger.propagate:
                return False
            logger = parent
            parent = logger.parent
        handlers = logger.handlers
        return len(handlers) == 1 and handlers[0] is handler
