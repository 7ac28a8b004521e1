# Included by _cy.pyx: reading a JSON bulk-enqueue body in one pass.
#
# ``plain_bulk_requests`` is ``_py.plain_bulk_requests`` (orjson.loads, then
# ``plain_enqueue_request`` for every job) without building the body's
# objects: no dict per job, no payload tree that is parsed only to be
# serialized again and freed. It scans the bytes once, checking the JSON
# grammar as it goes, and builds each request from slices: the names as
# ``str`` (reusing the previous job's object when the bytes repeat), the
# numbers as ``int`` and the payload as bytes.
#
# A payload is copied as it stands (whitespace outside strings dropped)
# when that is exactly what ``orjson.dumps(orjson.loads(slice))`` gives:
# no escapes, valid UTF-8 and no control characters in strings, integers
# of at most 18 digits and not ``-0``, no floats, objects of at most 16
# keys, all distinct. Any other payload is round-tripped through orjson
# itself. Everything else the scanner does not read with certainty (an
# escaped key or name, a duplicated field, a key besides "jobs" at the top,
# a malformed body, deep nesting) is handed to the reference, so results
# are identical; a job that is certainly not plain ends the fast path with
# None, as the reference would.

cimport cython
from libc.string cimport memchr, memcmp

cdef enum:
    _MAX_NESTING = 100  # deeper values go to the reference
    _MAX_KEYS = 16  # objects with more keys are round-tripped through orjson
    _DIGITS_EXACT = 18  # every integer of this many digits fits in 64 bits

# What the last value read was.
cdef enum:
    _K_OTHER, _K_NULL, _K_INT, _K_STRING

# The job fields the scanner tells apart (a bit each: duplicates defer).
cdef enum:
    _J_TYPE = 1
    _J_QUEUE = 2
    _J_PAYLOAD = 4
    _J_PRIORITY = 8
    _J_READY_AT = 16
    _J_RETRY_LIMIT = 32
    _J_BACKOFF = 64
    _J_RETENTION = 128
    _J_UNIQUE_KEY = 256
    _J_UNIQUE_WHILE = 512
    _J_BATCH = 1024
    _J_UNKNOWN = 2048  # ignored (repeats too), as the reference ignores it
    _J_OPTIONS = _J_BACKOFF | _J_RETENTION | _J_UNIQUE_KEY | _J_UNIQUE_WHILE | _J_BATCH

cdef uint64_t _PRIORITY_LIMIT = MAX_PRIORITY
cdef uint64_t _U32_LIMIT = MAX_U32
cdef uint64_t _U64_LIMIT = MAX_U64

ctypedef struct _Scan:
    const unsigned char* p
    const unsigned char* end
    bint canonical  # the value read equals its orjson round trip
    bint spaced  # whitespace was skipped inside it
    int kind
    uint64_t number  # the value of a _K_INT
    const unsigned char* text  # the bytes of a _K_STRING (no quotes)
    Py_ssize_t text_len
    bint ascii  # a _K_STRING's bytes are all ASCII


cdef inline bint _space(unsigned char c) noexcept:
    return c == c' ' or c == c'\n' or c == c'\r' or c == c'\t'


cdef inline void _ws(_Scan* s) noexcept:
    if s.p < s.end and _space(s.p[0]):
        s.spaced = True
        s.p += 1
        while s.p < s.end and _space(s.p[0]):
            s.p += 1


cdef inline bint _eat(_Scan* s, unsigned char c) noexcept:
    """Step over ``c`` if it is next."""
    if s.p < s.end and s.p[0] == c:
        s.p += 1
        return True
    return False


cdef inline Py_ssize_t _utf8_len(
    const unsigned char* p, const unsigned char* end
) noexcept:
    """The length of the well-formed UTF-8 sequence at ``p`` (RFC 3629), or 0."""
    cdef unsigned char c = p[0]
    cdef unsigned char lo = 0x80, hi = 0xBF
    cdef Py_ssize_t n, i
    if 0xC2 <= c <= 0xDF:
        n = 2
    elif 0xE0 <= c <= 0xEF:
        n = 3
        if c == 0xE0:
            lo = 0xA0
        elif c == 0xED:  # no surrogates
            hi = 0x9F
    elif 0xF0 <= c <= 0xF4:
        n = 4
        if c == 0xF0:
            lo = 0x90
        elif c == 0xF4:  # nothing past U+10FFFF
            hi = 0x8F
    else:
        return 0
    if end - p < n or not (lo <= p[1] <= hi):
        return 0
    for i in range(2, n):
        if not (0x80 <= p[i] <= 0xBF):
            return 0
    return n


# Eight bytes at a time: a word of string bytes that need no look of their
# own (ASCII from 0x20, neither '"' nor '\\') is skipped whole. Each term
# is nonzero in a byte's top bit exactly when some byte is of one kind:
# 0x80 and above; below 0x20; '"'; '\\' (the zero-byte test of "Bit
# Twiddling Hacks", which is exact as a yes/no answer).
cdef uint64_t _ONES = 0x0101010101010101
cdef uint64_t _TOPS = 0x8080808080808080


cdef inline bint _plain_word(const unsigned char* p) noexcept:
    cdef uint64_t v, quote, backslash
    memcpy(&v, p, 8)
    quote = v ^ (_ONES * 0x22)
    backslash = v ^ (_ONES * 0x5C)
    return (
        (
            v
            | ((v - _ONES * 0x20) & ~v)
            | ((quote - _ONES) & ~quote)
            | ((backslash - _ONES) & ~backslash)
        )
        & _TOPS
    ) == 0


cdef int _string(_Scan* s) noexcept:
    """Past the string at ``s.p``; escapes make it non-canonical."""
    cdef const unsigned char* p = s.p + 1
    cdef const unsigned char* stop
    cdef unsigned char c
    cdef Py_ssize_t n
    s.text = p
    s.ascii = True
    while p < s.end:
        while s.end - p >= 8 and _plain_word(p):
            p += 8
        # Byte by byte to the end of the word that needs it.
        stop = p + 8 if s.end - p >= 8 else s.end
        while p < stop:
            c = p[0]
            if c == c'"':
                s.text_len = p - s.text
                s.p = p + 1
                s.kind = _K_STRING
                return _OK
            if c == c'\\':
                s.canonical = False  # orjson checks and decodes the escape
                p += 2
            elif c < 0x20:
                return _PUNT
            elif c < 0x80:
                p += 1
            else:
                n = _utf8_len(p, s.end)
                if n == 0:
                    return _PUNT
                s.ascii = False
                p += n
    return _PUNT


cdef inline bint _digit(_Scan* s) noexcept:
    return s.p < s.end and c'0' <= s.p[0] <= c'9'


cdef int _number(_Scan* s) noexcept:
    """Past the number at ``s.p`` (JSON's grammar, exactly)."""
    cdef bint negative = _eat(s, c'-')
    cdef const unsigned char* digits = s.p
    cdef uint64_t value = 0
    if not _digit(s):
        return _PUNT
    if s.p[0] == c'0':
        s.p += 1
    else:
        while _digit(s):
            value = value * 10 + (s.p[0] - c'0')
            s.p += 1
    if s.p - digits > _DIGITS_EXACT:
        s.canonical = False  # may not fit 64 bits: orjson makes it a float
    if _eat(s, c'.'):
        s.canonical = False
        if not _digit(s):
            return _PUNT
        while _digit(s):
            s.p += 1
    if _eat(s, c'e') or _eat(s, c'E'):
        s.canonical = False
        if not _eat(s, c'+'):
            _eat(s, c'-')
        if not _digit(s):
            return _PUNT
        while _digit(s):
            s.p += 1
    if negative:
        if value == 0:
            s.canonical = False  # -0 comes back as 0
        s.kind = _K_OTHER
    else:
        s.kind = _K_INT
        s.number = value
    return _OK


cdef int _literal(_Scan* s, const char* word, Py_ssize_t n, int kind) noexcept:
    if s.end - s.p < n or memcmp(s.p, word, n) != 0:
        return _PUNT
    s.p += n
    s.kind = kind
    return _OK


cdef int _value(_Scan* s, int depth) noexcept:
    """Past the value at ``s.p`` (no whitespace around it is skipped)."""
    cdef unsigned char c
    if s.p >= s.end or depth > _MAX_NESTING:
        return _PUNT
    c = s.p[0]
    if c == c'"':
        return _string(s)
    if c == c'{':
        return _object(s, depth + 1)
    if c == c'[':
        return _array(s, depth + 1)
    if c == c't':
        return _literal(s, b"true", 4, _K_OTHER)
    if c == c'f':
        return _literal(s, b"false", 5, _K_OTHER)
    if c == c'n':
        return _literal(s, b"null", 4, _K_NULL)
    if c == c'-' or c'0' <= c <= c'9':
        return _number(s)
    return _PUNT


cdef int _array(_Scan* s, int depth) noexcept:
    s.p += 1
    _ws(s)
    if not _eat(s, c']'):
        while True:
            if _value(s, depth) != _OK:
                return _PUNT
            _ws(s)
            if _eat(s, c']'):
                break
            if not _eat(s, c','):
                return _PUNT
            _ws(s)
    s.kind = _K_OTHER
    return _OK


cdef int _object(_Scan* s, int depth) noexcept:
    cdef const unsigned char* keys[_MAX_KEYS]
    cdef Py_ssize_t lengths[_MAX_KEYS]
    cdef Py_ssize_t count = 0, i
    s.p += 1
    _ws(s)
    if not _eat(s, c'}'):
        while True:
            if s.p >= s.end or s.p[0] != c'"' or _string(s) != _OK:
                return _PUNT
            if count == _MAX_KEYS:
                s.canonical = False  # too many to compare: orjson dedupes
            else:
                for i in range(count):
                    if lengths[i] == s.text_len and memcmp(
                        keys[i], s.text, s.text_len
                    ) == 0:
                        s.canonical = False  # a repeated key: the last wins
                keys[count] = s.text
                lengths[count] = s.text_len
                count += 1
            _ws(s)
            if not _eat(s, c':'):
                return _PUNT
            _ws(s)
            if _value(s, depth) != _OK:
                return _PUNT
            _ws(s)
            if _eat(s, c'}'):
                break
            if not _eat(s, c','):
                return _PUNT
            _ws(s)
    s.kind = _K_OTHER
    return _OK


cdef inline int _field_of(const unsigned char* key, Py_ssize_t n) noexcept:
    """Which job field a key names (the bit), by length and then bytes."""
    if n == 4:
        return _J_TYPE if memcmp(key, b"type", 4) == 0 else _J_UNKNOWN
    if n == 5:
        if memcmp(key, b"queue", 5) == 0:
            return _J_QUEUE
        return _J_BATCH if memcmp(key, b"batch", 5) == 0 else _J_UNKNOWN
    if n == 7:
        if memcmp(key, b"payload", 7) == 0:
            return _J_PAYLOAD
        return _J_BACKOFF if memcmp(key, b"backoff", 7) == 0 else _J_UNKNOWN
    if n == 8:
        if memcmp(key, b"priority", 8) == 0:
            return _J_PRIORITY
        return _J_READY_AT if memcmp(key, b"ready_at", 8) == 0 else _J_UNKNOWN
    if n == 9:
        return _J_RETENTION if memcmp(key, b"retention", 9) == 0 else _J_UNKNOWN
    if n == 10:
        return _J_UNIQUE_KEY if memcmp(key, b"unique_key", 10) == 0 else _J_UNKNOWN
    if n == 11:
        return _J_RETRY_LIMIT if memcmp(key, b"retry_limit", 11) == 0 else _J_UNKNOWN
    if n == 12:
        return _J_UNIQUE_WHILE if memcmp(key, b"unique_while", 12) == 0 else _J_UNKNOWN
    return _J_UNKNOWN


cdef inline str _text(_Scan* s):
    """The string just read (canonical: no escapes) as a ``str``."""
    if s.ascii:
        return PyUnicode_DecodeASCII(<const char*>s.text, s.text_len, NULL)
    return PyUnicode_DecodeUTF8(<const char*>s.text, s.text_len, NULL)


cdef object _QUEUED = "queued", _ACTIVE = "active", _EXISTS = "exists"


cdef object _scope(_Scan* s):
    """The scope the string just read names, or None."""
    if s.text_len != 6:
        return None
    if memcmp(s.text, b"queued", 6) == 0:
        return _QUEUED
    if memcmp(s.text, b"active", 6) == 0:
        return _ACTIVE
    return _EXISTS if memcmp(s.text, b"exists", 6) == 0 else None


cdef bytes _minified(const unsigned char* start, const unsigned char* end):
    """A canonical value's bytes without the whitespace between its tokens."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, _unspaced(start, end, NULL))
    _unspaced(start, end, PyBytes_AS_STRING(out))
    return out


cdef Py_ssize_t _unspaced(
    const unsigned char* p, const unsigned char* end, char* out
) noexcept:
    """How many bytes of a canonical value are not whitespace between its
    tokens, copying them to ``out`` unless it is NULL (canonical: no
    escapes, so each string runs to the next quote, copied whole)."""
    cdef Py_ssize_t n = 0, run
    cdef const unsigned char* close
    while p < end:
        if p[0] == c'"':
            close = <const unsigned char*>memchr(p + 1, c'"', end - p - 1)
            run = (end if close == NULL else close + 1) - p
            if out != NULL:
                memcpy(out + n, p, run)
            n += run
            p += run
        else:
            if not _space(p[0]):
                if out != NULL:
                    out[n] = <char>p[0]
                n += 1
            p += 1
    return n


@cython.final
cdef class _BulkReader:
    """The state of one scan: the cursor, and the names seen last."""

    cdef _Scan s
    cdef object job_type, queue  # the last plain names, and their bytes:
    cdef const unsigned char* type_text
    cdef const unsigned char* queue_text
    cdef Py_ssize_t type_len, queue_len

    cdef object read(self, bytes body):
        """The plain requests, None if a job is not plain, or ``_PUNTED``."""
        cdef list requests = []
        cdef object request
        cdef bint plain = True
        cdef _Scan* s = &self.s
        s.p = <const unsigned char*>PyBytes_AS_STRING(body)
        s.end = s.p + PyBytes_GET_SIZE(body)
        _ws(s)
        if not _eat(s, c'{'):
            return _PUNTED
        _ws(s)
        if _literal(s, b'"jobs"', 6, _K_OTHER) != _OK:
            return _PUNTED
        _ws(s)
        if not _eat(s, c':'):
            return _PUNTED
        _ws(s)
        if not _eat(s, c'['):
            return _PUNTED
        _ws(s)
        if not _eat(s, c']'):
            while True:
                request = self.job()
                if request is _PUNTED:
                    return _PUNTED
                if request is None:
                    plain = False
                elif plain:
                    requests.append(request)
                _ws(s)
                if _eat(s, c']'):
                    break
                if not _eat(s, c','):
                    return _PUNTED
                _ws(s)
        _ws(s)
        if not _eat(s, c'}'):
            return _PUNTED
        _ws(s)
        if s.p != s.end:
            return _PUNTED
        return requests if plain else None

    cdef object job(self):
        """The request of the job at the cursor, None if it is not plain."""
        cdef _Scan* s = &self.s
        cdef int seen = 0, field
        cdef bint plain = True
        cdef object job_type = None, queue = None, payload = None
        cdef object priority = None, ready_at = None, retry_limit = None
        cdef object unique_key = None, unique_while = None
        cdef const unsigned char* start
        if s.p >= s.end or s.p[0] != c'{':
            # Not a map: not plain, if it is a value the reference reads.
            s.canonical = True
            if _value(s, 1) != _OK or not s.canonical:
                return _PUNTED
            return None
        s.p += 1
        _ws(s)
        if not _eat(s, c'}'):
            while True:
                s.canonical = True
                if s.p >= s.end or s.p[0] != c'"' or _string(s) != _OK:
                    return _PUNTED
                field = _field_of(s.text, s.text_len)
                if not s.canonical or (seen & field and field != _J_UNKNOWN):
                    return _PUNTED  # an escaped or repeated key
                seen |= field
                _ws(s)
                if not _eat(s, c':'):
                    return _PUNTED
                _ws(s)
                start = s.p
                s.spaced = False
                if _value(s, 1) != _OK:
                    return _PUNTED
                if field == _J_PAYLOAD:
                    payload = self.payload(start)
                    if payload is _PUNTED:
                        return _PUNTED
                    plain = plain and payload is not None
                elif not s.canonical:
                    return _PUNTED
                elif field == _J_TYPE:
                    job_type = self.name(False)
                    plain = plain and job_type is not None
                elif field == _J_QUEUE:
                    queue = self.name(True)
                    plain = plain and queue is not None
                elif field == _J_PRIORITY:
                    priority = self.number(_PRIORITY_LIMIT)
                    plain = plain and priority is not _PUNTED
                elif field == _J_READY_AT:
                    ready_at = self.number(_U64_LIMIT)
                    plain = plain and ready_at is not _PUNTED
                elif field == _J_RETRY_LIMIT:
                    retry_limit = self.number(_U32_LIMIT)
                    plain = plain and retry_limit is not _PUNTED
                elif field == _J_UNIQUE_KEY:
                    if s.kind == _K_STRING:
                        unique_key = _text(s)
                    else:
                        plain = plain and s.kind == _K_NULL
                elif field == _J_UNIQUE_WHILE:
                    if s.kind == _K_STRING:
                        unique_while = _scope(s)
                        plain = plain and unique_while is not None
                    else:
                        plain = plain and s.kind == _K_NULL
                elif field & _J_OPTIONS:
                    plain = plain and s.kind == _K_NULL
                _ws(s)
                if _eat(s, c'}'):
                    break
                if not _eat(s, c','):
                    return _PUNTED
                _ws(s)
        if not plain or seen & (_J_TYPE | _J_QUEUE | _J_PAYLOAD) != (
            _J_TYPE | _J_QUEUE | _J_PAYLOAD
        ):
            return None
        if unique_while is not None and unique_key is None:
            return None
        if priority is None:
            priority = _DEFAULT_PRIORITY
        return _request(
            job_type, queue, payload, priority, ready_at, retry_limit,
            unique_key, unique_while,
        )

    cdef object payload(self, const unsigned char* start):
        """The payload read from ``start`` as ``orjson.dumps`` writes it;
        None if orjson cannot write it, ``_PUNTED`` if it cannot read it."""
        cdef _Scan* s = &self.s
        if s.canonical and not s.spaced:
            return PyBytes_FromStringAndSize(<const char*>start, s.p - start)
        if s.canonical:
            return _minified(start, s.p)
        try:
            value = _loads(PyBytes_FromStringAndSize(<const char*>start, s.p - start))
        except orjson.JSONDecodeError:
            return _PUNTED
        try:
            return _dumps(value)
        except TypeError:  # e.g. nested deeper than orjson writes
            return None

    cdef object name(self, bint is_queue):
        """The string just read as a plain name (the last one's object when
        the bytes repeat), or None if it is not one."""
        cdef _Scan* s = &self.s
        cdef object last = self.queue if is_queue else self.job_type
        cdef const unsigned char* text = self.queue_text if is_queue else self.type_text
        cdef Py_ssize_t n = self.queue_len if is_queue else self.type_len
        if s.kind != _K_STRING:
            return None
        if last is not None and n == s.text_len and memcmp(text, s.text, n) == 0:
            return last
        if s.ascii:
            value = PyUnicode_DecodeASCII(<const char*>s.text, s.text_len, NULL)
        else:
            value = PyUnicode_DecodeUTF8(<const char*>s.text, s.text_len, NULL)
        if not _plain_name(value, "queue" if is_queue else "type"):
            return None
        if is_queue:
            self.queue, self.queue_text, self.queue_len = value, s.text, s.text_len
        else:
            self.job_type, self.type_text, self.type_len = value, s.text, s.text_len
        return value

    cdef object number(self, uint64_t limit):
        """The value just read as an optional int up to ``limit``: None for
        null, ``_PUNTED`` for anything else."""
        cdef _Scan* s = &self.s
        if s.kind == _K_NULL:
            return None
        if s.kind == _K_INT and s.number <= limit:
            return PyLong_FromUnsignedLongLong(s.number)
        return _PUNTED


def plain_bulk_requests(body):
    """``_py.plain_bulk_requests``, reading the body in one pass (above)."""
    cdef object requests = _PUNTED
    if PyBytes_CheckExact(body):
        requests = _BulkReader().read(body)
    return _py.plain_bulk_requests(body) if requests is _PUNTED else requests
