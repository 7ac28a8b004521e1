# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The first duplicated field of a JSON request body (compiled twin of ``_py``).

One pass over the bytes, after orjson has accepted them, so the grammar is
taken as valid: strings are stepped over to their closing quote (escapes
included), skipped values by bracket depth, and only a struct object's keys
are compared, byte for byte, with the keys before them in that object; a
repeat is looked up in ``FIELDS`` only then. A key with an escape (serde
compares keys decoded), a struct object with more than ``_MAX_KEYS`` keys
or a repeated key that is not a field is handed to the reference, so the
results are identical.
"""

from libc.string cimport memchr, memcmp

from . import _py
from ._py import FIELDS

cdef enum:
    _MAX_KEYS = 32

# Outcomes of walking an object.
cdef enum:
    _CLEAN, _REPEAT, _DEFER

ctypedef struct _Key:
    const unsigned char* text
    Py_ssize_t size

ctypedef struct _Walk:
    const unsigned char* start
    const unsigned char* p
    const unsigned char* end
    const unsigned char* found_text  # the repeated key, when _REPEAT
    Py_ssize_t found_size


cdef inline void _ws(_Walk* w) noexcept:
    while w.p < w.end and (
        w.p[0] == c' ' or w.p[0] == c'\n' or w.p[0] == c'\r' or w.p[0] == c'\t'
    ):
        w.p += 1


cdef inline const unsigned char* _string_end(
    const unsigned char* p, const unsigned char* end
) noexcept:
    """Just past the string whose opening quote is at ``p``.

    ``memchr`` finds each candidate closing quote; one preceded by an odd
    run of backslashes is escaped, and the search goes on after it.
    """
    cdef const unsigned char* q
    cdef const unsigned char* r
    p += 1
    while p < end:
        q = <const unsigned char*>memchr(p, c'"', end - p)
        if q == NULL:
            return end
        r = q
        while r > p and r[-1] == c'\\':
            r -= 1
        if (q - r) % 2 == 0:
            return q + 1
        p = q + 1
    return end


cdef inline bint _string(_Walk* w) noexcept:
    """Step over the string at ``w.p``; True if it held an escape."""
    cdef const unsigned char* start = w.p + 1
    w.p = _string_end(w.p, w.end)
    return memchr(start, c'\\', w.p - start) != NULL


cdef inline bint _ends_scalar(unsigned char c) noexcept:
    return (
        c == c',' or c == c'}' or c == c']'
        or c == c' ' or c == c'\n' or c == c'\r' or c == c'\t'
    )


cdef inline void _skip(_Walk* w) noexcept:
    """Step over the value at ``w.p`` (nothing inside it is checked)."""
    cdef Py_ssize_t depth = 0
    cdef unsigned char c
    if w.p[0] == c'"':
        w.p = _string_end(w.p, w.end)
        return
    if w.p[0] != c'{' and w.p[0] != c'[':
        while w.p < w.end and not _ends_scalar(w.p[0]):
            w.p += 1
        return
    while w.p < w.end:
        c = w.p[0]
        if c == c'"':
            w.p = _string_end(w.p, w.end)
            continue
        if c == c'{' or c == c'[':
            depth += 1
        elif c == c'}' or c == c']':
            depth -= 1
        w.p += 1
        if depth == 0:
            return


cdef inline bint _is(
    const unsigned char* text, Py_ssize_t size, const char* name, Py_ssize_t n
) noexcept:
    return size == n and memcmp(text, name, n) == 0


cdef int _struct(_Walk* w) noexcept:
    """Walk the struct object at ``w.p``; _REPEAT at the first repeated key."""
    cdef _Key keys[_MAX_KEYS]
    cdef Py_ssize_t count = 0, i
    cdef const unsigned char* text
    cdef Py_ssize_t size
    cdef int outcome
    w.p += 1
    while True:
        _ws(w)
        if w.p >= w.end:
            return _CLEAN
        if w.p[0] == c'}':
            w.p += 1
            return _CLEAN
        if w.p[0] == c',':
            w.p += 1
            _ws(w)
        text = w.p + 1
        if _string(w):
            return _DEFER
        size = w.p - 1 - text
        for i in range(count):
            if keys[i].size == size and memcmp(keys[i].text, text, size) == 0:
                w.found_text = text
                w.found_size = size
                return _REPEAT
        if count == _MAX_KEYS:
            return _DEFER
        keys[count].text = text
        keys[count].size = size
        count += 1
        _ws(w)
        w.p += 1  # the ':'
        _ws(w)
        if w.p >= w.end:
            return _CLEAN
        outcome = _CLEAN
        if w.p[0] == c'{' and (
            _is(text, size, "backoff", 7)
            or _is(text, size, "retention", 9)
            or _is(text, size, "batch", 5)
        ):
            outcome = _struct(w)
        elif w.p[0] == c'[' and _is(text, size, "jobs", 4):
            outcome = _struct_list(w)
        else:
            _skip(w)
        if outcome != _CLEAN:
            return outcome


cdef int _struct_list(_Walk* w) noexcept:
    """Walk the array at ``w.p``, whose object elements are structs."""
    cdef int outcome
    w.p += 1
    while True:
        _ws(w)
        if w.p >= w.end:
            return _CLEAN
        if w.p[0] == c']':
            w.p += 1
            return _CLEAN
        if w.p[0] == c',':
            w.p += 1
            _ws(w)
        if w.p[0] == c'{':
            outcome = _struct(w)
            if outcome != _CLEAN:
                return outcome
        else:
            _skip(w)


def duplicate_field(bytes body):
    """``(name, offset)`` of the first repeated field, or None."""
    cdef _Walk w
    cdef int outcome
    w.start = <const unsigned char*>body
    w.p = w.start
    w.end = w.start + len(body)
    _ws(&w)
    if w.p >= w.end or w.p[0] != c'{':
        return None
    outcome = _struct(&w)
    if outcome == _CLEAN:
        return None
    if outcome == _REPEAT:
        name = (<bytes>w.found_text[:w.found_size]).decode("utf-8", "replace")
        if name in FIELDS:
            return name, w.found_text + w.found_size + 1 - w.start
    # An escaped key, a crowded object, or a repeated unknown key (which
    # must not hide a field repeated later): the reference decides.
    return _py.duplicate_field(body)
