# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Job records <-> bytes, RocksDB keys, response rendering, enqueue requests
and ids (compiled twin).

Every function returns exactly what its namesake in ``_py.py`` returns (that
module documents the key layout and the record format); the speed comes from
doing less, not from a different format:

* ``Job`` is a slotted class, so its fields are read and written at slot
  offsets found once at import, and ``decode_job`` fills a fresh ``Job``
  without running ``__init__``. The import fails, and the package falls back
  to the twin, if ``Job`` stops being the plain slotted class this expects.
* Records are written and parsed as MessagePack directly, keys are built in
  one allocation, and ``job_to_json`` writes the JSON itself with orjson's
  escaping (``\\uXXXX`` for control characters, everything else raw) and
  splices in the stored payload bytes.
* A JSON bulk-enqueue body is read from its bytes in one pass, without
  building its objects (``_bulk.pxi``, included at the end), and an
  enqueue's unique keys are planned and claimed in compiled loops
  (``_unique.pxi``, the same).
* Anything off that path (another type, an unset slot, an int beyond 64
  bits, a surrogate, a malformed record) is handed to the reference, so
  results and errors stay identical; each helper says so by returning
  ``_PUNT``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_CheckExact, PyDict_Contains
from cpython.dict cimport PyDict_GetItemWithError, PyDict_Size
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact, PyFloat_FromDouble
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong
from cpython.long cimport PyLong_CheckExact, PyLong_FromLongLong
from cpython.long cimport PyLong_FromUnsignedLongLong
from cpython.object cimport Py_TYPE, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF, PyObject
from cpython.tuple cimport PyTuple_Check, PyTuple_CheckExact, PyTuple_GET_ITEM
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_CheckExact
from cpython.unicode cimport PyUnicode_DecodeASCII, PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, strlen
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

import random

import orjson

from .. import names, types
from ..defaults import (
    DEFAULT_PRIORITY,
    DEFAULT_UNIQUE_WHILE,
    MAX_NAME_BYTES,
    MAX_PRIORITY,
    MAX_U32,
    MAX_U64,
)
from ..options import EnqueueRequest
from ..types import Job
from . import _py
from ._py import ERROR_TAG, INDEX_TAG, JOB_TAG, PURGE_TAG, UNIQUE_TAG


cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    void* PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    dict _PyDict_NewPresized(Py_ssize_t minused)

    ctypedef struct _TypeObject "PyTypeObject":
        PyObject* (*tp_alloc)(_TypeObject*, Py_ssize_t) except NULL

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    enum:
        T_OBJECT_EX


cdef enum:
    _OK = 0
    _PUNT = 1  # outside the fast path: let the reference answer
    _MAX_DEPTH = 8  # arrays nest two deep in a record
    _ID_LEN = 25

# Job slots, in the order of Job.__slots__ (checked below).
cdef enum:
    F_ID, F_TYPE, F_QUEUE, F_PRIORITY, F_STATUS, F_READY_AT, F_ATTEMPTS
    F_RETRY_LIMIT, F_BACKOFF, F_DEQUEUED_AT, F_FAILED_AT, F_RETENTION
    F_PURGE_AT, F_COMPLETED_AT, F_UNIQUE_KEY, F_UNIQUE_WHILE, F_BATCH
    F_PAYLOAD, N_FIELDS

cdef tuple _FIELDS = (
    "id", "type", "queue", "priority", "status", "ready_at", "attempts",
    "retry_limit", "backoff", "dequeued_at", "failed_at", "retention",
    "purge_at", "completed_at", "unique_key", "unique_while", "batch",
    "payload",
)

cdef Py_ssize_t _OFFSETS[N_FIELDS]
# C globals: the hot paths read these without a module dict lookup.
cdef PyTypeObject* _JOB = <PyTypeObject*>Job
cdef object Backoff = types.Backoff
cdef object Retention = types.Retention
cdef object Batch = types.Batch
cdef object ErrorRecord = types.ErrorRecord
cdef tuple _STATUS_NAMES = types.STATUS_NAMES
cdef object _loads = orjson.loads
cdef object _dumps = orjson.dumps
cdef object _tuple_new = tuple.__new__


cdef int _find_offsets() except -1:
    member_descriptor = type(Job.priority)
    if tuple(Job.__slots__) != _FIELDS:
        raise ImportError("queue_core.types.Job's slots changed; update the codec")
    for i, name in enumerate(_FIELDS):
        descr = Job.__dict__[name]
        if (
            type(descr) is not member_descriptor
            or (<PyMemberDescrObject*>descr).d_member.type != T_OBJECT_EX
        ):
            raise ImportError(f"queue_core.types.Job.{name} is not a plain slot")
        _OFFSETS[i] = (<PyMemberDescrObject*>descr).d_member.offset
    return 0


_find_offsets()


cdef inline PyObject** _slot(object job, int field) noexcept:
    return <PyObject**>((<char*><PyObject*>job) + _OFFSETS[field])


cdef inline object _get(object job, int field):
    return <object>_slot(job, field)[0]


cdef bint _complete(object job) noexcept:
    """True for a ``Job`` (not a subclass) with every slot set."""
    cdef int field
    if Py_TYPE(job) != _JOB:
        return False
    for field in range(N_FIELDS):
        if _slot(job, field)[0] == NULL:
            return False
    return True


cdef inline bint _ascii(object s) noexcept:
    return PyUnicode_CheckExact(s) and PyUnicode_IS_ASCII(s)


cdef inline bint _is(object value, object cls) noexcept:
    """``value`` is a plain tuple or an instance of exactly ``cls``."""
    return PyTuple_CheckExact(value) or Py_TYPE(value) == <PyTypeObject*>cls


# -- output buffer ------------------------------------------------------------


ctypedef struct _Buf:
    char* data
    Py_ssize_t size
    Py_ssize_t cap


cdef int _open(_Buf* b, Py_ssize_t cap) except -1:
    b.data = <char*>malloc(cap)
    if b.data == NULL:
        raise MemoryError()
    b.size = 0
    b.cap = cap
    return 0


cdef int _grow(_Buf* b, Py_ssize_t need) except -1:
    cdef Py_ssize_t cap = max(2 * b.cap, b.size + need)
    cdef char* data = <char*>realloc(b.data, cap)
    if data == NULL:
        raise MemoryError()
    b.data = data
    b.cap = cap
    return 0


cdef inline int _put(_Buf* b, const char* s, Py_ssize_t n) except -1:
    if b.size + n > b.cap:
        _grow(b, n)
    memcpy(b.data + b.size, s, n)
    b.size += n
    return 0


cdef inline int _byte(_Buf* b, uint8_t c) except -1:
    if b.size == b.cap:
        _grow(b, 1)
    b.data[b.size] = <char>c
    b.size += 1
    return 0


cdef inline int _be(_Buf* b, uint64_t value, int width) except -1:
    """``value`` as ``width`` big-endian bytes."""
    cdef int i
    if b.size + width > b.cap:
        _grow(b, width)
    for i in range(width):
        b.data[b.size + i] = <char>(value >> (8 * (width - 1 - i)))
    b.size += width
    return 0


cdef inline bytes _close(_Buf* b):
    return PyBytes_FromStringAndSize(b.data, b.size)


cdef inline uint64_t _read_be(const unsigned char* p, int width) noexcept:
    cdef uint64_t value = 0
    cdef int i
    for i in range(width):
        value = (value << 8) | p[i]
    return value


cdef int _utf8(object s, const char** data, Py_ssize_t* size) except -1:
    """The UTF-8 bytes of an exact ``str``; ``_PUNT`` for anything else."""
    if not PyUnicode_CheckExact(s):
        return _PUNT
    if PyUnicode_IS_ASCII(s):
        data[0] = <const char*>PyUnicode_DATA(s)
        size[0] = PyUnicode_GET_LENGTH(s)
        return _OK
    try:
        data[0] = PyUnicode_AsUTF8AndSize(s, size)
    except UnicodeEncodeError:
        return _PUNT
    return _OK


cdef int _u64(object value, uint64_t limit, uint64_t* out) except -1:
    """An exact ``int`` in ``0..limit``; ``_PUNT`` for anything else."""
    cdef int overflow
    cdef long long small
    if not PyLong_CheckExact(value):
        return _PUNT
    small = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow < 0 or (overflow == 0 and small < 0):
        return _PUNT
    if overflow:
        try:
            out[0] = PyLong_AsUnsignedLongLong(value)
        except OverflowError:
            return _PUNT
    else:
        out[0] = <uint64_t>small
    return _OK if out[0] <= limit else _PUNT


# -- keys ---------------------------------------------------------------------


cdef object _ABSENT = object()  # a key part that this kind of key lacks


cdef inline char* _store_be(char* p, uint64_t value, int width) noexcept:
    while width:
        width -= 1
        p[0] = <char>(value >> (8 * width))
        p += 1
    return p


cdef bytes _key(
    char tag,
    int head_width,
    uint64_t head,
    object queue,
    object job_id,
    int tail_width,
    uint64_t tail,
):
    """``tag [head] [queue 00] [job_id] [tail]``, or None to punt.

    ``head`` and ``tail`` are big-endian, of the given widths (0 = none);
    ``queue`` and ``job_id`` may be ``_ABSENT``. The queue is UTF-8; the id
    must be ASCII, as every stored id is.
    """
    cdef const char* q = NULL
    cdef const char* i = NULL
    cdef Py_ssize_t qn = 0, n = 0
    cdef bint has_queue = queue is not _ABSENT
    cdef bytes out
    cdef char* p
    if has_queue and _utf8(queue, &q, &qn) != _OK:
        return None
    if job_id is not _ABSENT:
        if not _ascii(job_id):
            return None
        i = <const char*>PyUnicode_DATA(job_id)
        n = PyUnicode_GET_LENGTH(job_id)
    out = PyBytes_FromStringAndSize(
        NULL, 1 + head_width + qn + has_queue + n + tail_width
    )
    p = PyBytes_AS_STRING(out)
    p[0] = tag
    p = _store_be(p + 1, head, head_width)
    if has_queue:
        memcpy(p, q, qn)
        p[qn] = 0
        p += qn + 1
    if n:
        memcpy(p, i, n)
        p += n
    _store_be(p, tail, tail_width)
    return out


cpdef job_key(job_id):
    cdef bytes key = _key(b"J", 0, 0, _ABSENT, job_id, 0, 0)
    return _py.job_key(job_id) if key is None else key


def index_prefix(status, queue):
    cdef uint64_t s
    cdef bytes key = None
    if _u64(status, 255, &s) == _OK:
        key = _key(b"I", 1, s, queue, _ABSENT, 0, 0)
    return _py.index_prefix(status, queue) if key is None else key


cpdef index_key(status, queue, job_id):
    cdef uint64_t s
    cdef bytes key = None
    if _u64(status, 255, &s) == _OK:
        key = _key(b"I", 1, s, queue, job_id, 0, 0)
    return _py.index_key(status, queue, job_id) if key is None else key


def parse_index_key(key):
    """``(status, queue, id)`` of an ``I`` key."""
    cdef Py_ssize_t n
    cdef const char* p
    if not PyBytes_CheckExact(key) or PyBytes_GET_SIZE(key) < _ID_LEN + 3:
        return _py.parse_index_key(key)
    n = PyBytes_GET_SIZE(key)
    p = PyBytes_AS_STRING(key)
    return (
        <uint8_t>p[1],
        PyUnicode_DecodeUTF8(p + 2, n - _ID_LEN - 3, NULL),
        PyUnicode_DecodeUTF8(p + n - _ID_LEN, _ID_LEN, NULL),
    )


cpdef index_value(priority, ready_at):
    cdef uint64_t p, r
    cdef char out[10]
    cdef int i
    if (
        _u64(priority, 0xFFFF, &p) != _OK
        or _u64(ready_at, 0xFFFFFFFFFFFFFFFF, &r) != _OK
    ):
        return _py.index_value(priority, ready_at)
    out[0] = <char>(p >> 8)
    out[1] = <char>p
    for i in range(8):
        out[2 + i] = <char>(r >> (56 - 8 * i))
    return PyBytes_FromStringAndSize(out, 10)


def in_flight_value(priority, ready_at, dequeued_at):
    """The ``I`` value of an ``in_flight`` entry."""
    cdef uint64_t p, r, d
    cdef char out[18]
    if (
        _u64(priority, 0xFFFF, &p) != _OK
        or _u64(ready_at, 0xFFFFFFFFFFFFFFFF, &r) != _OK
        or _u64(dequeued_at, 0xFFFFFFFFFFFFFFFF, &d) != _OK
    ):
        return _py.in_flight_value(priority, ready_at, dequeued_at)
    _store_be(_store_be(_store_be(out, p, 2), r, 8), d, 8)
    return PyBytes_FromStringAndSize(out, 18)


def parse_index_value(value):
    """``(priority, ready_at)`` of an ``I`` value, ``in_flight`` ones included."""
    cdef const unsigned char* p
    cdef Py_ssize_t n
    if not PyBytes_CheckExact(value):
        return _py.parse_index_value(value)
    n = PyBytes_GET_SIZE(value)
    if n != 10 and n != 18:
        return _py.parse_index_value(value)
    p = <const unsigned char*>PyBytes_AS_STRING(value)
    return (
        PyLong_FromLongLong(_read_be(p, 2)),
        PyLong_FromUnsignedLongLong(_read_be(p + 2, 8)),
    )


def parse_in_flight_value(value):
    """``(priority, ready_at, dequeued_at)`` of an ``in_flight`` entry's value;
    ``dequeued_at`` is None in an entry of the previous format."""
    cdef const unsigned char* p
    if not PyBytes_CheckExact(value) or PyBytes_GET_SIZE(value) != 18:
        return _py.parse_in_flight_value(value)
    p = <const unsigned char*>PyBytes_AS_STRING(value)
    return (
        PyLong_FromLongLong(_read_be(p, 2)),
        PyLong_FromUnsignedLongLong(_read_be(p + 2, 8)),
        PyLong_FromUnsignedLongLong(_read_be(p + 10, 8)),
    )


def error_prefix(job_id):
    cdef bytes key = _key(b"E", 0, 0, _ABSENT, job_id, 0, 0)
    return _py.error_prefix(job_id) if key is None else key


def error_key(job_id, attempt):
    cdef uint64_t a
    cdef bytes key = None
    if _u64(attempt, 0xFFFFFFFF, &a) == _OK:
        key = _key(b"E", 0, 0, _ABSENT, job_id, 4, a)
    return _py.error_key(job_id, attempt) if key is None else key


def purge_key(purge_at, job_id):
    cdef uint64_t at
    cdef bytes key = None
    if _u64(purge_at, 0xFFFFFFFFFFFFFFFF, &at) == _OK:
        key = _key(b"P", 8, at, _ABSENT, job_id, 0, 0)
    return _py.purge_key(purge_at, job_id) if key is None else key


def parse_purge_key(key):
    """``(purge_at, id)`` of a ``P`` key."""
    cdef const char* p
    if not PyBytes_CheckExact(key) or PyBytes_GET_SIZE(key) < 9:
        return _py.parse_purge_key(key)
    p = PyBytes_AS_STRING(key)
    return (
        PyLong_FromUnsignedLongLong(_read_be(<const unsigned char*>p + 1, 8)),
        PyUnicode_DecodeUTF8(p + 9, PyBytes_GET_SIZE(key) - 9, NULL),
    )


def purge_bound(now_ms):
    """The first ``P`` key after every key with ``purge_at <= now``."""
    cdef uint64_t now
    if _u64(now_ms, 0xFFFFFFFFFFFFFFFE, &now) != _OK:
        return _py.purge_bound(now_ms)
    return _key(b"P", 8, now + 1, _ABSENT, _ABSENT, 0, 0)


# -- records ------------------------------------------------------------------


cdef int _mp_uint(_Buf* b, uint64_t u) except -1:
    if u < 0x80:
        return _byte(b, <uint8_t>u)
    if u <= 0xFF:
        _byte(b, 0xCC)
        return _be(b, u, 1)
    if u <= 0xFFFF:
        _byte(b, 0xCD)
        return _be(b, u, 2)
    if u <= 0xFFFFFFFF:
        _byte(b, 0xCE)
        return _be(b, u, 4)
    _byte(b, 0xCF)
    return _be(b, u, 8)


cdef int _mp_neg(_Buf* b, int64_t x) except -1:
    if x >= -32:
        return _byte(b, <uint8_t>x)
    if x >= -0x80:
        _byte(b, 0xD0)
        return _be(b, <uint64_t>x, 1)
    if x >= -0x8000:
        _byte(b, 0xD1)
        return _be(b, <uint64_t>x, 2)
    if x >= -0x80000000:
        _byte(b, 0xD2)
        return _be(b, <uint64_t>x, 4)
    _byte(b, 0xD3)
    return _be(b, <uint64_t>x, 8)


cdef int _mp_head(
    _Buf* b, Py_ssize_t n, uint8_t fix, Py_ssize_t fix_max, uint8_t first, int width
) except -1:
    """A length header: the fix form, else ``first`` and ``width`` bytes.

    Wider forms follow ``first`` at codes +1, +2 with twice the bytes, up to 4.
    """
    if n <= fix_max:
        return _byte(b, fix | <uint8_t>n)
    while width < 4 and <uint64_t>n >> (8 * width):
        width *= 2
        first += 1
    if <uint64_t>n > 0xFFFFFFFF:
        return _PUNT
    _byte(b, first)
    _be(b, n, width)
    return _OK


cdef int _mp(_Buf* b, object v, int depth) except -1:
    """MessagePack of ``v`` as ``Packer(use_bin_type=True)`` writes it."""
    cdef const char* s
    cdef Py_ssize_t n, i
    cdef int overflow
    cdef long long x
    cdef uint64_t u
    cdef double d
    if v is None:
        return _byte(b, 0xC0)
    if v is True or v is False:
        return _byte(b, 0xC3 if v is True else 0xC2)
    if PyLong_CheckExact(v):
        x = PyLong_AsLongLongAndOverflow(v, &overflow)
        if overflow == 0:
            return _mp_uint(b, x) if x >= 0 else _mp_neg(b, x)
        if overflow > 0 and _u64(v, 0xFFFFFFFFFFFFFFFF, &u) == _OK:
            return _mp_uint(b, u)
        return _PUNT
    if PyUnicode_CheckExact(v):
        if _utf8(v, &s, &n) != _OK or _mp_head(b, n, 0xA0, 31, 0xD9, 1):
            return _PUNT
        return _put(b, s, n)
    if PyBytes_CheckExact(v):
        n = PyBytes_GET_SIZE(v)
        if _mp_head(b, n, 0xC4, -1, 0xC4, 1):
            return _PUNT
        return _put(b, PyBytes_AS_STRING(v), n)
    if PyFloat_CheckExact(v):
        d = PyFloat_AS_DOUBLE(v)
        memcpy(&u, &d, 8)
        _byte(b, 0xCB)
        return _be(b, u, 8)
    if PyTuple_Check(v) and depth < _MAX_DEPTH:
        n = PyTuple_GET_SIZE(v)
        if _mp_head(b, n, 0x90, 15, 0xDC, 2):
            return _PUNT
        for i in range(n):
            if _mp(b, <object>PyTuple_GET_ITEM(v, i), depth + 1):
                return _PUNT
        return _OK
    return _PUNT


ctypedef struct _Reader:
    const unsigned char* p
    Py_ssize_t pos
    Py_ssize_t end


cdef object _PUNTED = object()  # what _unpack returns for "not mine"


cdef inline const unsigned char* _take(_Reader* r, Py_ssize_t n) noexcept:
    cdef const unsigned char* p = r.p + r.pos
    if n > r.end - r.pos:
        return NULL
    r.pos += n
    return p


cdef object _unpack_sized(_Reader* r, uint8_t kind, Py_ssize_t n, int depth):
    """A str (0), bin (1) or array (2) of ``n`` items at the cursor."""
    cdef const unsigned char* p
    cdef tuple items
    cdef object item
    cdef Py_ssize_t i
    if kind == 2:
        # Every item takes a byte at least: a bogus count cannot allocate.
        if n > r.end - r.pos or depth >= _MAX_DEPTH:
            return _PUNTED
        items = PyTuple_New(n)
        for i in range(n):
            item = _unpack(r, depth + 1)
            if item is _PUNTED:
                return _PUNTED
            Py_INCREF(item)
            PyTuple_SET_ITEM(items, i, item)
        return items
    p = _take(r, n)
    if p == NULL:
        return _PUNTED
    if kind == 1:
        return PyBytes_FromStringAndSize(<const char*>p, n)
    return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)


cdef object _unpack(_Reader* r, int depth):
    """One value as ``unpackb(use_list=False, raw=False)`` reads it."""
    cdef const unsigned char* p = _take(r, 1)
    cdef uint8_t c
    cdef int width
    cdef uint64_t u
    cdef double d
    if p == NULL:
        return _PUNTED
    c = p[0]
    if c < 0x80 or c >= 0xE0:
        return PyLong_FromLongLong(<int8_t>c)  # fixints are one signed byte
    if c <= 0x8F:  # fixmap
        return _PUNTED
    if c <= 0x9F:
        return _unpack_sized(r, 2, c & 0x0F, depth)
    if c <= 0xBF:
        return _unpack_sized(r, 0, c & 0x1F, depth)
    if c == 0xC0:
        return None
    if c == 0xC2 or c == 0xC3:
        return c == 0xC3
    if 0xCC <= c <= 0xD3 or c == 0xCB:
        width = 8 if c == 0xCB else 1 << ((c - 0xCC) & 3)
        p = _take(r, width)
        if p == NULL:
            return _PUNTED
        u = _read_be(p, width)
        if c == 0xCB:
            memcpy(&d, &u, 8)
            return PyFloat_FromDouble(d)
        if c <= 0xCF:
            return PyLong_FromUnsignedLongLong(u)
        # Sign-extend the big-endian two's complement of ``width`` bytes.
        width = 64 - 8 * width
        return PyLong_FromLongLong((<int64_t>(u << width)) >> width)
    if 0xC4 <= c <= 0xC6 or 0xD9 <= c <= 0xDD:
        if c <= 0xC6:
            width = 1 << (c - 0xC4)
        elif c <= 0xDB:
            width = 1 << (c - 0xD9)
        else:
            width = 2 << (c - 0xDC)
        p = _take(r, width)
        if p == NULL:
            return _PUNTED
        return _unpack_sized(
            r, 1 if c <= 0xC6 else 0 if c <= 0xDB else 2, _read_be(p, width), depth
        )
    return _PUNTED


cdef object _unpack_all(object data):
    """The single value ``data`` holds, or ``_PUNTED``."""
    cdef _Reader r
    cdef object value
    if not PyBytes_CheckExact(data):
        return _PUNTED
    r.p = <const unsigned char*>PyBytes_AS_STRING(data)
    r.pos = 0
    r.end = PyBytes_GET_SIZE(data)
    value = _unpack(&r, 0)
    return value if r.pos == r.end else _PUNTED


cdef object _named(object value, object cls, Py_ssize_t size):
    """``cls(*value)`` for a ``size``-tuple, None for None, else _PUNTED."""
    if value is None:
        return None
    if PyTuple_CheckExact(value) and PyTuple_GET_SIZE(value) == size:
        return _tuple_new(cls, value)
    return _PUNTED


cdef object _new_job():
    """An empty ``Job``: what ``Job.__new__(Job)`` makes, minus the call."""
    cdef PyObject* raw = (<_TypeObject*>_JOB).tp_alloc(<_TypeObject*>_JOB, 0)
    cdef object job = <object>raw
    Py_DECREF(job)
    return job


cpdef encode_job(job):
    cdef _Buf b
    cdef int field
    cdef object payload
    if not _complete(job):
        return _py.encode_job(job)
    payload = _get(job, F_PAYLOAD)
    _open(&b, 96 + (PyBytes_GET_SIZE(payload) if PyBytes_CheckExact(payload) else 0))
    try:
        _put(&b, b"\xdc\x00\x11", 3)  # array16 of 17 fields
        for field in range(F_TYPE, N_FIELDS):
            if _mp(&b, _get(job, field), 1):
                return _py.encode_job(job)
        return _close(&b)
    finally:
        free(b.data)


def decode_job(job_id, data):
    cdef object job = _decode_job(job_id, data)
    return _py.decode_job(job_id, data) if job is _PUNTED else job


cdef object _decode_job(object job_id, object data):
    cdef _Reader r
    cdef const unsigned char* head
    cdef object job, value
    cdef int field
    if not PyBytes_CheckExact(data):
        return _PUNTED
    r.p = <const unsigned char*>PyBytes_AS_STRING(data)
    r.pos = 0
    r.end = PyBytes_GET_SIZE(data)
    head = _take(&r, 3)
    if head == NULL or head[0] != 0xDC or head[1] != 0 or head[2] != N_FIELDS - 1:
        return _PUNTED
    job = _new_job()
    for field in range(N_FIELDS):
        value = job_id if field == F_ID else _unpack(&r, 1)
        if field == F_BACKOFF:
            value = _named(value, Backoff, 3)
        elif field == F_RETENTION:
            value = _named(value, Retention, 2)
        elif field == F_BATCH:
            value = _named(value, Batch, 3)
        if value is _PUNTED:
            return _PUNTED
        Py_INCREF(value)
        _slot(job, field)[0] = <PyObject*>value
    return job if r.pos == r.end else _PUNTED


def encode_error(record):
    cdef _Buf b
    if not _is(record, ErrorRecord):
        return _py.encode_error(record)
    _open(&b, 64)
    try:
        if _mp(&b, record, 0):
            return _py.encode_error(record)
        return _close(&b)
    finally:
        free(b.data)


def decode_error(data):
    cdef object fields = _unpack_all(data)
    if not PyTuple_CheckExact(fields) or PyTuple_GET_SIZE(fields) != 6:
        return _py.decode_error(data)
    return _tuple_new(ErrorRecord, fields)


# -- rendering ----------------------------------------------------------------


cdef char _ESCAPE[256]  # 0: copy as is; else the letter after the backslash
cdef const char* _HEX = b"0123456789abcdef"


cdef int _fill_escapes() except -1:
    cdef int c
    for c in range(256):
        _ESCAPE[c] = b"u" if c < 0x20 else 0
    for c, letter in zip(b'"\\\b\t\n\f\r', b'"\\btnfr'):
        _ESCAPE[c] = letter
    return 0


_fill_escapes()


cdef int _json_str(_Buf* b, object s) except -1:
    """A JSON string as orjson writes it (``\\uXXXX`` for other controls)."""
    cdef const unsigned char* p
    cdef Py_ssize_t n, i, start = 0
    cdef char esc[6]
    cdef uint8_t c
    if _utf8(s, <const char**>&p, &n):
        return _PUNT
    _byte(b, b'"')
    for i in range(n):
        c = p[i]
        if _ESCAPE[c]:
            _put(b, <const char*>p + start, i - start)
            start = i + 1
            esc[0] = b"\\"
            esc[1] = _ESCAPE[c]
            if esc[1] != b"u":
                _put(b, esc, 2)
            else:
                esc[2] = esc[3] = b"0"
                esc[4] = c"0" + (c >> 4)
                esc[5] = _HEX[c & 15]
                _put(b, esc, 6)
    _put(b, <const char*>p + start, n - start)
    return _byte(b, b'"')


cdef int _json_int(_Buf* b, object v) except -1:
    cdef char digits[21]
    cdef int pos = 21, overflow
    cdef long long x = PyLong_AsLongLongAndOverflow(v, &overflow)
    cdef uint64_t u
    if overflow:
        if _u64(v, 0xFFFFFFFFFFFFFFFF, &u):
            return _PUNT
    elif x < 0:
        _byte(b, b"-")
        u = <uint64_t>(-(x + 1)) + 1  # no overflow at LLONG_MIN
    else:
        u = x
    while True:
        pos -= 1
        digits[pos] = c"0" + <char>(u % 10)
        u //= 10
        if not u:
            break
    return _put(b, digits + pos, 21 - pos)


cdef int _json(_Buf* b, object v) except -1:
    cdef bytes text
    if v is None:
        return _put(b, "null", 4)
    if PyUnicode_CheckExact(v):
        return _json_str(b, v)
    if PyLong_CheckExact(v):
        return _json_int(b, v)
    if PyFloat_CheckExact(v):
        # Shortest round-trip digits in orjson's spelling (1e-7, 0.00001).
        text = _dumps(v)
        return _put(b, text, PyBytes_GET_SIZE(text))
    return _PUNT


cdef int _json_field(_Buf* b, const char* key, object v) except -1:
    """``,"key":value`` (``key`` comes with its quotes and colon)."""
    _byte(b, b",")
    _put(b, key, len(key))
    return _json(b, v)


cdef inline object _item(object value, Py_ssize_t i):
    return <object>PyTuple_GET_ITEM(value, i)


cdef inline bint _tuple_of(object value, object cls, Py_ssize_t size) noexcept:
    """``value[0:size]`` can be read as a plain tuple's items."""
    return _is(value, cls) and PyTuple_GET_SIZE(value) >= size


cdef object _status_name(object status):
    cdef uint64_t code
    if _u64(status, len(_STATUS_NAMES) - 1, &code):
        return None
    return _item(_STATUS_NAMES, code)


cdef int _json_job(_Buf* b, object job, object payload, const char* extra=NULL) except -1:
    """The fields of ``job_dict`` + ``_with_batch``, as compact JSON.

    ``extra`` is written just before ``batch`` (an enqueue confirmation's
    ``duplicate`` and ``folded``).
    """
    if _json_head(b, job):
        return _PUNT
    return _json_tail(b, job, payload, extra)


cdef int _json_head(_Buf* b, object job) except -1:
    """``_json_job`` up to the id: ``{"id":"..."``."""
    _put(b, b'{"id":', 6)
    return _json(b, _get(job, F_ID))


cdef int _json_tail(_Buf* b, object job, object payload, const char* extra) except -1:
    """``_json_job`` after the id: from ``,"type":`` to the closing brace."""
    if _json_middle(b, job, payload):
        return _PUNT
    return _json_end(b, job, extra)


cdef int _json_middle(_Buf* b, object job, object payload) except -1:
    """``_json_tail`` from ``,"type":`` up to ``completed_at`` (slots
    ``F_TYPE`` to ``F_COMPLETED_AT``, and the payload)."""
    cdef object v, name = _status_name(_get(job, F_STATUS))
    if name is None:
        return _PUNT
    if (
        _json_field(b, b'"type":', _get(job, F_TYPE))
        or _json_field(b, b'"queue":', _get(job, F_QUEUE))
        or _json_field(b, b'"priority":', _get(job, F_PRIORITY))
        or _json_field(b, b'"status":', name)
    ):
        return _PUNT
    if payload is not None:
        _put(b, b',"payload":', 11)
        _put(b, PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload))
    if (
        _json_field(b, b'"ready_at":', _get(job, F_READY_AT))
        or _json_field(b, b'"attempts":', _get(job, F_ATTEMPTS))
    ):
        return _PUNT
    v = _get(job, F_RETRY_LIMIT)
    if v is not None and _json_field(b, b'"retry_limit":', v):
        return _PUNT
    v = _get(job, F_BACKOFF)
    if v is not None and (
        not _tuple_of(v, Backoff, 3)
        or _json_field(b, b'"backoff":{"exponent":', _item(v, 0))
        or _json_field(b, b'"base_ms":', _item(v, 1))
        or _json_field(b, b'"jitter_ms":', _item(v, 2))
        or _byte(b, b"}")
    ):
        return _PUNT
    v = _get(job, F_DEQUEUED_AT)
    if v is not None and _json_field(b, b'"dequeued_at":', v):
        return _PUNT
    v = _get(job, F_FAILED_AT)
    if v is not None and _json_field(b, b'"failed_at":', v):
        return _PUNT
    v = _get(job, F_RETENTION)
    if v is not None and _json_retention(b, v):
        return _PUNT
    v = _get(job, F_PURGE_AT)
    if v is not None and _json_field(b, b'"purge_at":', v):
        return _PUNT
    v = _get(job, F_COMPLETED_AT)
    if v is not None and _json_field(b, b'"completed_at":', v):
        return _PUNT
    return _OK


cdef int _json_end(_Buf* b, object job, const char* extra) except -1:
    """``_json_tail`` from ``unique_key`` to the closing brace, with
    ``extra`` before ``batch``."""
    if _json_key(b, job):
        return _PUNT
    return _json_rest(b, job, extra)


cdef inline int _json_key(_Buf* b, object job) except -1:
    """``_json_end``'s ``unique_key`` field, if the job has a key."""
    cdef object v = _get(job, F_UNIQUE_KEY)
    if v is None:
        return _OK
    return _json_field(b, b'"unique_key":', v)


cdef int _json_rest(_Buf* b, object job, const char* extra) except -1:
    """``_json_end`` after the key: from ``unique_while`` (if keyed) on."""
    cdef object v
    if _get(job, F_UNIQUE_KEY) is not None and _json_field(
        b, b'"unique_while":', _get(job, F_UNIQUE_WHILE)
    ):
        return _PUNT
    if extra != NULL:
        _put(b, extra, strlen(extra))
    v = _get(job, F_BATCH)
    if v is not None and (
        not _tuple_of(v, Batch, 3)
        or _json_field(b, b'"batch":{"key":', _item(v, 0))
        or _json_field(b, b'"when":', _item(v, 1))
        or _json_field(b, b'"fold":', _item(v, 2))
        or _byte(b, b"}")
    ):
        return _PUNT
    return _byte(b, b"}")


cdef int _json_retention(_Buf* b, object r) except -1:
    cdef bint first = True
    if not _tuple_of(r, Retention, 2):
        return _PUNT
    _put(b, b',"retention":{', 14)
    if _item(r, 0) is not None:
        _put(b, b'"completed_ms":', 15)
        if _json(b, _item(r, 0)):
            return _PUNT
        first = False
    if _item(r, 1) is not None:
        if not first:
            _byte(b, b",")
        _put(b, b'"dead_ms":', 10)
        if _json(b, _item(r, 1)):
            return _PUNT
    return _byte(b, b"}")


def job_to_json(job, with_payload):
    """Compact JSON of a job, payload bytes spliced in verbatim."""
    cdef _Buf b
    cdef object payload = None
    if not _complete(job):
        return _py.job_to_json(job, with_payload)
    if with_payload:
        payload = _get(job, F_PAYLOAD)
        if not PyBytes_CheckExact(payload):
            return _py.job_to_json(job, with_payload)
    _open(&b, 384 + (0 if payload is None else PyBytes_GET_SIZE(payload)))
    try:
        if _json_job(&b, job, payload):
            return _py.job_to_json(job, with_payload)
        return _close(&b)
    finally:
        free(b.data)


cdef const char* _ENQUEUED_FLAGS[4]
_ENQUEUED_FLAGS[0] = b',"duplicate":false,"folded":false'
_ENQUEUED_FLAGS[1] = b',"duplicate":false,"folded":true'
_ENQUEUED_FLAGS[2] = b',"duplicate":true,"folded":false'
_ENQUEUED_FLAGS[3] = b',"duplicate":true,"folded":true'


def enqueued_to_json(job, duplicate, folded):
    """``enqueued_to_obj`` as compact JSON, written directly."""
    cdef _Buf b
    cdef int flags
    if not _complete(job) or type(duplicate) is not bool or type(folded) is not bool:
        return _py.enqueued_to_json(job, duplicate, folded)
    flags = (2 if duplicate else 0) + (1 if folded else 0)
    _open(&b, 320)
    try:
        if _json_job(&b, job, None, _ENQUEUED_FLAGS[flags]):
            return _py.enqueued_to_json(job, duplicate, folded)
        return _close(&b)
    finally:
        free(b.data)


def bulk_enqueued_to_json(jobs, duplicates=None):
    """``_py.bulk_enqueued_to_json``: every confirmation written into one
    buffer. A bulk's jobs mostly differ only by id (or, with unique keys,
    by id and key), so a confirmation copies what it can from the one just
    written: the part from ``type`` to ``completed_at`` when those slots
    are the very objects its predecessor had; then the rest too when its
    key, scope, batch and duplicate flag are the same as well, or all of the
    rest after its own key when both have keys and only the keys differ."""
    cdef _Buf b
    cdef object last = None
    cdef Py_ssize_t n = len(jobs), i, tail = 0, middle_size = 0, tail_size = 0
    cdef Py_ssize_t rest = 0, rest_size = 0  # the end after the key field
    cdef int flags, last_flags = 0
    if duplicates is not None and (
        type(duplicates) is not list or len(duplicates) != n
    ):
        return _py.bulk_enqueued_to_json(jobs, duplicates)
    _open(&b, 16 + 320 * n)
    try:
        _put(&b, b'{"jobs":[', 9)
        for i in range(n):
            job = jobs[i]
            flags = 0
            if duplicates is not None:
                flag = duplicates[i]
                if type(flag) is not bool:
                    return _py.bulk_enqueued_to_json(jobs, duplicates)
                flags = 2 if flag else 0
            if last is not None:
                _byte(&b, b",")
            if not _complete(job) or _json_head(&b, job):
                return _py.bulk_enqueued_to_json(jobs, duplicates)
            if last is not None and _same_slots(job, last, F_TYPE, F_UNIQUE_KEY):
                _copy(&b, tail, middle_size)
                if flags == last_flags and _same_slots(job, last, F_UNIQUE_KEY, F_PAYLOAD):
                    _copy(&b, tail + middle_size, tail_size - middle_size)
                    tail = b.size - tail_size
                    last = job
                    continue
                if (
                    flags == last_flags
                    and _same_slots(job, last, F_UNIQUE_WHILE, F_PAYLOAD)
                    and _get(job, F_UNIQUE_KEY) is not None
                    and _get(last, F_UNIQUE_KEY) is not None
                ):
                    rest = tail + tail_size - rest_size  # where ``last``'s is
                    tail = b.size - middle_size
                    if _json_key(&b, job):
                        return _py.bulk_enqueued_to_json(jobs, duplicates)
                    _copy(&b, rest, rest_size)
                    tail_size = b.size - tail
                    last = job
                    continue
                tail = b.size - middle_size
            else:
                tail = b.size
                if _json_middle(&b, job, None):
                    return _py.bulk_enqueued_to_json(jobs, duplicates)
                middle_size = b.size - tail
            if _json_key(&b, job):
                return _py.bulk_enqueued_to_json(jobs, duplicates)
            rest_size = b.size
            if _json_rest(&b, job, _ENQUEUED_FLAGS[flags]):
                return _py.bulk_enqueued_to_json(jobs, duplicates)
            rest_size = b.size - rest_size
            tail_size = b.size - tail
            last, last_flags = job, flags
        _put(&b, b"]}", 2)
        return _close(&b)
    finally:
        free(b.data)


cdef inline int _copy(_Buf* b, Py_ssize_t start, Py_ssize_t size) except -1:
    """Append ``size`` bytes of ``b`` from ``start`` (earlier in ``b``)."""
    if b.size + size > b.cap:
        _grow(b, size)
    memcpy(b.data + b.size, b.data + start, size)
    b.size += size
    return _OK


cdef bint _same_slots(object job, object other, int first, int end) noexcept:
    """Slots ``first`` to ``end - 1`` are the same objects in both jobs."""
    cdef int field
    for field in range(first, end):
        if _slot(job, field)[0] != _slot(other, field)[0]:
            return False
    return True


cdef dict _job_dict(object job, bint with_payload, object payload, int extra):
    """``_py.job_dict`` for a complete ``Job``, or None to punt.

    The dict is sized up front for its keys plus ``extra`` more, which saves
    the resizes that dominate building it key by key.
    """
    cdef object v, name = _status_name(_get(job, F_STATUS))
    cdef dict d
    cdef int field, size = 7 + with_payload + extra
    if name is None:
        return None
    for field in range(F_RETRY_LIMIT, F_UNIQUE_WHILE):
        size += _get(job, field) is not None
    size += _get(job, F_UNIQUE_KEY) is not None  # brings unique_while along
    d = _PyDict_NewPresized(size)
    d["id"] = _get(job, F_ID)
    d["type"] = _get(job, F_TYPE)
    d["queue"] = _get(job, F_QUEUE)
    d["priority"] = _get(job, F_PRIORITY)
    d["status"] = name
    if with_payload:
        d["payload"] = payload
    d["ready_at"] = _get(job, F_READY_AT)
    d["attempts"] = _get(job, F_ATTEMPTS)
    v = _get(job, F_RETRY_LIMIT)
    if v is not None:
        d["retry_limit"] = v
    v = _get(job, F_BACKOFF)
    if v is not None:
        if not _tuple_of(v, Backoff, 3):
            return None
        d["backoff"] = {
            "exponent": _item(v, 0),
            "base_ms": _item(v, 1),
            "jitter_ms": _item(v, 2),
        }
    v = _get(job, F_DEQUEUED_AT)
    if v is not None:
        d["dequeued_at"] = v
    v = _get(job, F_FAILED_AT)
    if v is not None:
        d["failed_at"] = v
    v = _get(job, F_RETENTION)
    if v is not None:
        if not _tuple_of(v, Retention, 2):
            return None
        d["retention"] = _retention_dict(v)
    v = _get(job, F_PURGE_AT)
    if v is not None:
        d["purge_at"] = v
    v = _get(job, F_COMPLETED_AT)
    if v is not None:
        d["completed_at"] = v
    v = _get(job, F_UNIQUE_KEY)
    if v is not None:
        d["unique_key"] = v
        d["unique_while"] = _get(job, F_UNIQUE_WHILE)
    return d


cdef dict _retention_dict(object r):
    cdef dict ret = {}
    if _item(r, 0) is not None:
        ret["completed_ms"] = _item(r, 0)
    if _item(r, 1) is not None:
        ret["dead_ms"] = _item(r, 1)
    return ret


cdef dict _with_batch(dict d, object job):
    cdef object v = _get(job, F_BATCH)
    if v is None:
        return d
    if not _tuple_of(v, Batch, 3):
        return None
    d["batch"] = {"key": _item(v, 0), "when": _item(v, 1), "fold": _item(v, 2)}
    return d


def job_dict(job, with_payload, payload=None):
    """The job as an ordered dict in the spec's field order (API.md 3.1).

    ``payload`` is what goes under the ``payload`` key: an ``orjson.Fragment``
    for JSON (spliced in without re-parsing) or the decoded value for
    MessagePack.
    """
    cdef dict d = None
    if _complete(job):
        d = _job_dict(job, with_payload, payload, 0)
    return _py.job_dict(job, with_payload, payload) if d is None else d


def job_to_obj(job, with_payload):
    """The job as plain Python objects (for MessagePack)."""
    cdef dict d = None
    if _complete(job):
        with_payload = bool(with_payload)
        d = _job_dict(
            job,
            with_payload,
            _loads(_get(job, F_PAYLOAD)) if with_payload else None,
            _get(job, F_BATCH) is not None,
        )
        if d is not None:
            d = _with_batch(d, job)
    return _py.job_to_obj(job, with_payload) if d is None else d


def enqueued_to_obj(job, duplicate, folded):
    """An enqueue confirmation: no payload, ``duplicate``/``folded`` always."""
    cdef dict d = None
    if _complete(job):
        d = _job_dict(job, False, None, 2 + (_get(job, F_BATCH) is not None))
        if d is not None:
            d["duplicate"] = duplicate
            d["folded"] = folded
            d = _with_batch(d, job)
    return _py.enqueued_to_obj(job, duplicate, folded) if d is None else d


def error_to_obj(record):
    cdef dict d
    cdef object v
    if Py_TYPE(record) != <PyTypeObject*>ErrorRecord:
        return _py.error_to_obj(record)
    d = {"attempt": _item(record, 0), "message": _item(record, 1)}
    v = _item(record, 2)
    if v is not None:
        d["error_type"] = v
    v = _item(record, 3)
    if v is not None:
        d["backtrace"] = v
    v = _item(record, 4)
    if v is not None:
        d["dequeued_at"] = v
    d["failed_at"] = _item(record, 5)
    return d


# -- enqueue ---------------------------------------------------------------------

cdef object _EnqueueRequest = EnqueueRequest
cdef PyTypeObject* _REQUEST = <PyTypeObject*>EnqueueRequest
cdef object _problem = names.problem
cdef Py_ssize_t _MAX_NAME_BYTES = MAX_NAME_BYTES
cdef object _DEFAULT_PRIORITY = DEFAULT_PRIORITY
cdef tuple _UNSET_OPTIONS = ("backoff", "retention", "batch")
cdef tuple _UNIQUE_SCOPES = types.UNIQUE_SCOPES
cdef object _ZERO = 0
cdef object _READY = types.READY
cdef object _SCHEDULED = types.SCHEDULED


cdef inline object _field(dict obj, str name):
    """``obj.get(name)`` without a method call (None when absent)."""
    cdef PyObject* value = PyDict_GetItemWithError(obj, name)
    return None if value == NULL else <object>value


cdef bint _plain_name(object value, str field) except -1:
    """An exact ``str`` that ``names.problem`` would accept."""
    cdef const unsigned char* p
    cdef Py_ssize_t i, n
    if not PyUnicode_CheckExact(value):
        return False
    if not PyUnicode_IS_ASCII(value):
        return _problem(field, value) is None
    p = <const unsigned char*>PyUnicode_DATA(value)
    n = PyUnicode_GET_LENGTH(value)
    if n == 0 or n > _MAX_NAME_BYTES:
        return False
    for i in range(n):
        if _refused(p[i]):
            return False
    return True


cdef inline bint _refused(unsigned char c) noexcept:
    """``,``, NUL and the reserved ``*?[]{}\\`` of ``names.problem``."""
    return (
        c == b"," or c == 0 or c == b"*" or c == b"?" or c == b"[" or c == b"]"
        or c == b"{" or c == b"}" or c == b"\\"
    )


cdef bint _plain_int(object value, uint64_t limit) except -1:
    """None, or an exact ``int`` in ``0..limit``."""
    cdef uint64_t unused
    return value is None or _u64(value, limit, &unused) == _OK


def plain_enqueue_request(obj):
    """``_py.plain_enqueue_request``: the fields are looked up without saving
    and restoring the error state (``PyDict_GetItemWithError``), the options
    only when the map has keys besides the plain ones, and the request is
    allocated and filled directly."""
    cdef dict d
    cdef object job_type, queue, priority, ready_at, retry_limit, payload
    cdef object unique_key = None, unique_while = None
    cdef PyObject* raw
    cdef Py_ssize_t present = 3
    if not PyDict_CheckExact(obj):
        return None
    d = <dict>obj
    raw = PyDict_GetItemWithError(d, "payload")
    if raw == NULL:
        return None
    job_type = _field(d, "type")
    queue = _field(d, "queue")
    if not _plain_name(job_type, "type") or not _plain_name(queue, "queue"):
        return None
    priority = _field(d, "priority")
    ready_at = _field(d, "ready_at")
    retry_limit = _field(d, "retry_limit")
    if not (
        _plain_int(priority, MAX_PRIORITY)
        and _plain_int(ready_at, MAX_U64)
        and _plain_int(retry_limit, MAX_U32)
    ):
        return None
    # Absent and null look alike here; a key that is neither a plain field
    # nor present-but-null makes the map's size exceed the count.
    present += (
        _has(d, "priority", priority) + _has(d, "ready_at", ready_at)
        + _has(d, "retry_limit", retry_limit)
    )
    if PyDict_Size(d) > present:
        for name in _UNSET_OPTIONS:
            if _field(d, name) is not None:
                return None
        unique_key = _field(d, "unique_key")
        unique_while = _field(d, "unique_while")
        if not _plain_unique(unique_key, unique_while):
            return None
    try:
        payload = _dumps(<object>raw)
    except TypeError:  # not a JSON value (orjson's error is a TypeError)
        return None
    if priority is None:
        priority = _DEFAULT_PRIORITY
    return _request(
        job_type, queue, payload, priority, ready_at, retry_limit, unique_key, unique_while
    )


cdef inline bint _plain_unique(object unique_key, object unique_while):
    """``_py._plain_unique``: no key and no scope, or a ``str`` key with no
    scope or a valid one."""
    if unique_key is None:
        return unique_while is None
    return PyUnicode_CheckExact(unique_key) and (
        unique_while is None
        or (PyUnicode_CheckExact(unique_while) and unique_while in _UNIQUE_SCOPES)
    )


def keyed(requests):
    """``_py.keyed``, reading an ``EnqueueRequest``'s key from its item."""
    for request in requests:
        if Py_TYPE(request) == _REQUEST:
            if PyTuple_GET_ITEM(request, 8) != <PyObject*>None:
                return True
        elif request.unique_key is not None:
            return True
    return False


cdef inline int _has(dict d, str name, object value) except -1:
    """1 if ``name`` is a key of ``d`` (``value`` is what it maps to, or None)."""
    if value is not None:
        return 1
    return PyDict_Contains(d, name)


cdef object _request(
    job_type, queue, payload, priority, ready_at, retry_limit, unique_key, unique_while
):
    """``EnqueueRequest(job_type, queue, payload, priority, ready_at,
    retry_limit, unique_key=unique_key, unique_while=unique_while)`` with the
    other options None: ``tuple.__new__``'s work for a tuple subclass
    (allocate, then own each item), without the call."""
    cdef PyObject* raw = (<_TypeObject*>_REQUEST).tp_alloc(<_TypeObject*>_REQUEST, 11)
    cdef object request = <object>raw
    cdef int i
    Py_DECREF(request)  # tp_alloc's reference is now ``request``'s
    _own(request, 0, job_type)
    _own(request, 1, queue)
    _own(request, 2, payload)
    _own(request, 3, priority)
    _own(request, 4, ready_at)
    _own(request, 5, retry_limit)
    for i in range(6, 8):
        _own(request, i, None)
    _own(request, 8, unique_key)
    _own(request, 9, unique_while)
    _own(request, 10, None)
    return request


cdef inline void _own(object tup, Py_ssize_t i, object value) noexcept:
    Py_INCREF(value)
    PyTuple_SET_ITEM(tup, i, value)


cdef inline void _fill(object job, int field, object value) noexcept:
    Py_INCREF(value)
    _slot(job, field)[0] = <PyObject*>value


cpdef new_job(request, job_id, status, ready_at):
    """The job an enqueue request becomes, before it has been attempted."""
    cdef object job
    if Py_TYPE(request) != <PyTypeObject*>_EnqueueRequest:
        return _py.new_job(request, job_id, status, ready_at)
    job = _new_job()
    _fill(job, F_ID, job_id)
    _fill(job, F_TYPE, <object>PyTuple_GET_ITEM(request, 0))
    _fill(job, F_QUEUE, <object>PyTuple_GET_ITEM(request, 1))
    _fill(job, F_PRIORITY, <object>PyTuple_GET_ITEM(request, 3))
    _fill(job, F_STATUS, status)
    _fill(job, F_READY_AT, ready_at)
    _fill(job, F_ATTEMPTS, _ZERO)
    _fill(job, F_RETRY_LIMIT, <object>PyTuple_GET_ITEM(request, 5))
    _fill(job, F_BACKOFF, <object>PyTuple_GET_ITEM(request, 6))
    _fill(job, F_DEQUEUED_AT, None)
    _fill(job, F_FAILED_AT, None)
    _fill(job, F_RETENTION, <object>PyTuple_GET_ITEM(request, 7))
    _fill(job, F_PURGE_AT, None)
    _fill(job, F_COMPLETED_AT, None)
    _fill(job, F_UNIQUE_KEY, <object>PyTuple_GET_ITEM(request, 8))
    _fill(job, F_UNIQUE_WHILE, <object>PyTuple_GET_ITEM(request, 9))
    _fill(job, F_BATCH, <object>PyTuple_GET_ITEM(request, 10))
    _fill(job, F_PAYLOAD, <object>PyTuple_GET_ITEM(request, 2))
    return job


def new_jobs(requests, now_ms, new_id):
    """``_py.new_jobs``, without an interpreted loop around ``new_job``; ids
    from a compiled ``IdGenerator``'s bound ``new_id`` are made without the
    method call."""
    cdef list jobs = []
    cdef object ready_at, job_id
    cdef IdGenerator ids = _generator_of(new_id)
    for request in requests:
        if Py_TYPE(request) == <PyTypeObject*>_EnqueueRequest:
            ready_at = <object>PyTuple_GET_ITEM(request, 4)
        else:
            ready_at = request.ready_at
        if ready_at is None:
            ready_at = now_ms
        status = _SCHEDULED if ready_at > now_ms else _READY
        job_id = new_id() if ids is None else ids._new_id()
        jobs.append(new_job(request, job_id, status, ready_at))
    return jobs


cdef IdGenerator _generator_of(object new_id):
    """The ``IdGenerator`` whose ``new_id`` method ``new_id`` is, or None."""
    owner = getattr(new_id, "__self__", None)
    if type(owner) is IdGenerator and getattr(new_id, "__name__", None) == "new_id":
        return <IdGenerator>owner
    return None


def put_new_jobs(jobs, dict writes, dict counts):
    """``_py.put_new_jobs``, calling the key and record encoders directly,
    reading a ``Job``'s fields from its slots, and counting a run of jobs
    of one queue and status with one update."""
    cdef object status, queue, run_status = None, run_queue = None
    cdef Py_ssize_t run = 0
    for job in jobs:
        writes[job_key(_id_of(job))] = encode_job(job)
    for job in jobs:
        if _complete(job):
            key = index_key(_get(job, F_STATUS), _get(job, F_QUEUE), _get(job, F_ID))
            writes[key] = index_value(_get(job, F_PRIORITY), _get(job, F_READY_AT))
        else:
            writes[index_key(job.status, job.queue, job.id)] = index_value(
                job.priority, job.ready_at
            )
    for job in jobs:
        if _complete(job):
            status, queue = _get(job, F_STATUS), _get(job, F_QUEUE)
        else:
            status, queue = job.status, job.queue
        if run and queue is run_queue and status is run_status:
            run += 1
            continue
        _add_count(counts, run_queue, run_status, run)
        run_queue, run_status, run = queue, status, 1
    _add_count(counts, run_queue, run_status, run)


cdef int _add_count(dict counts, object queue, object status, Py_ssize_t n) except -1:
    """``counts[(queue, status)] += n`` (from 0)."""
    cdef PyObject* counted
    if n:
        key = (queue, status)
        counted = PyDict_GetItemWithError(counts, key)
        counts[key] = n if counted == NULL else <object>counted + n
    return 0


cdef inline object _id_of(object job):
    return _get(job, F_ID) if _complete(job) else job.id


# -- ids -----------------------------------------------------------------------

cdef extern from *:
    # GCC and Clang give 128-bit integers on every 64-bit target we build.
    ctypedef unsigned long long _u128 "unsigned __int128"

cdef const char* _DIGITS = b"0123456789abcdefghijklmnopqrstuvwxyz"
cdef uint64_t _SPLIT = 4738381338321616896ULL  # 36**12


cdef inline void _base36_12(uint64_t n, char* out):
    cdef int i
    for i in range(11, -1, -1):
        out[i] = _DIGITS[n % 36]
        n //= 36


def format_id(uint64_t timestamp, uint64_t counter_hi, uint64_t counter_lo,
              uint64_t entropy):
    """A SCRU128 id as its canonical 25 lowercase base-36 characters."""
    return _format_id(timestamp, counter_hi, counter_lo, entropy)


cdef str _format_id(uint64_t timestamp, uint64_t counter_hi, uint64_t counter_lo,
                    uint64_t entropy):
    if (timestamp >> 48) or (counter_hi >> 24) or (counter_lo >> 24) or (entropy >> 32):
        return _py.format_id(timestamp, counter_hi, counter_lo, entropy)
    cdef _u128 value = (
        ((<_u128>timestamp) << 80)
        | ((<_u128>counter_hi) << 56)
        | ((<_u128>counter_lo) << 32)
        | entropy
    )
    cdef char buf[25]
    cdef _u128 rest = value // _SPLIT
    _base36_12(<uint64_t>(value % _SPLIT), buf + 13)
    _base36_12(<uint64_t>(rest % _SPLIT), buf + 1)
    buf[0] = _DIGITS[<uint64_t>(rest // _SPLIT)]
    return PyUnicode_DecodeASCII(buf, 25, NULL)


cdef enum:
    _MAX_COUNTER = 0xFFFFFF


cdef class IdGenerator:
    """``_py.IdGenerator`` with its state in C and the wall clock read by
    ``clock_gettime``; given the same ``clock_ms`` and ``getrandbits`` both
    twins produce the same ids."""

    cdef object _clock_ms
    cdef object _getrandbits
    cdef uint64_t _timestamp, _counter_hi, _counter_lo, _ts_counter_hi

    def __init__(self, clock_ms=None, getrandbits=None):
        self._clock_ms = clock_ms
        self._getrandbits = getrandbits or random.Random().getrandbits

    cdef uint64_t _now_ms(self) except? 0:
        cdef timespec ts
        if self._clock_ms is not None:
            return self._clock_ms()
        clock_gettime(CLOCK_REALTIME, &ts)
        return <uint64_t>ts.tv_sec * 1000 + <uint64_t>ts.tv_nsec // 1000000

    def new_id(self):
        return self._new_id()

    cdef str _new_id(self):
        cdef uint64_t ts = self._now_ms()
        if ts > self._timestamp:
            self._timestamp = ts
            self._counter_lo = self._getrandbits(24)
            if ts - self._ts_counter_hi >= 1000:
                self._ts_counter_hi = ts
                self._counter_hi = self._getrandbits(24)
        else:
            self._counter_lo += 1
            if self._counter_lo > _MAX_COUNTER:
                self._counter_lo = 0
                self._counter_hi += 1
                if self._counter_hi > _MAX_COUNTER:
                    self._counter_hi = 0
                    self._timestamp += 1
        return _format_id(
            self._timestamp, self._counter_hi, self._counter_lo, self._getrandbits(32)
        )


# -- bulk bodies -----------------------------------------------------------------

include "_bulk.pxi"


# -- unique keys -------------------------------------------------------------------

include "_unique.pxi"
