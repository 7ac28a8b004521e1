# Included by _cy.pyx: an enqueue's unique keys, planned and claimed.
#
# ``plan_unique``, ``claim_unique`` and ``unique_results`` are their
# namesakes in ``_py.py`` without an interpreted loop: a bulk with keys runs
# them once a request, so each request's key is read from its tuple item
# and each job's from its slot, the dict work is the C API's, and a ``U``
# entry's key and value are built in one allocation each. A plan with no
# duplicate allocates nothing a request (``fresh`` is the call's
# ``requests``), and once one appears it turns into the reference's lists.
# Anything off that path (another type, an unset slot, a non-ASCII id, an
# unknown scope) goes through the reference's own code, so results and
# errors stay identical.

from cpython.dict cimport PyDict_SetDefault

cdef dict _SCOPE_BYTES = _py.UNIQUE_SCOPE_BYTES
cdef object _DEFAULT_UNIQUE_WHILE = DEFAULT_UNIQUE_WHILE


cdef inline object _unique_key_of(object request):
    if Py_TYPE(request) == _REQUEST:
        return <object>PyTuple_GET_ITEM(request, 8)
    return request.unique_key


def plan_unique(requests, dict held, holder):
    """``_py.plan_unique``, with the call's keys in a dict sized for them,
    each key's first look-up there also its insertion (``setdefault``)."""
    cdef dict first = _PyDict_NewPresized(_length(requests))
    cdef list fresh = None, outcomes = None
    cdef Py_ssize_t i = -1
    cdef PyObject* found
    cdef object duplicate, index
    for request in requests:
        i += 1
        unique_key = _unique_key_of(request)
        index = i if outcomes is None else len(fresh)
        duplicate = None
        if unique_key is not None:
            # Every index already in ``first`` is below ``index``.
            found = PyDict_SetDefault(first, unique_key, index)
            if found != <PyObject*>index:
                duplicate = <object>found
                if PyLong_CheckExact(duplicate):
                    duplicate = ~duplicate
            else:
                found = PyDict_GetItemWithError(held, unique_key)
                if found != NULL:
                    duplicate = holder(<object>found, request)
                    if duplicate is not None:
                        first[unique_key] = duplicate
        if duplicate is not None:
            if outcomes is None:
                fresh, outcomes = list(requests[:i]), list(range(i))
            outcomes.append(duplicate)
        elif outcomes is not None:
            fresh.append(request)
            outcomes.append(index)
    return (requests if outcomes is None else fresh), outcomes


cdef Py_ssize_t _length(object requests):
    try:
        return len(requests)
    except TypeError:
        return 0


def claim_unique(jobs, dict held, dict writes):
    """``_py.claim_unique``."""
    cdef object scope, job_id, value
    for job in jobs:
        if not _complete(job):
            _py.claim_unique((job,), held, writes)
            continue
        unique_key = _get(job, F_UNIQUE_KEY)
        if unique_key is None:
            continue
        scope = _get(job, F_UNIQUE_WHILE)
        if scope is None:
            scope = _DEFAULT_UNIQUE_WHILE
            _replace(job, F_UNIQUE_WHILE, scope)
        job_id = _get(job, F_ID)
        held[unique_key] = job_id
        value = _holder_value(job_id, scope)
        writes[_holder_key(unique_key)] = value


cdef inline void _replace(object job, int field, object value) noexcept:
    """Set a slot that holds a value already."""
    cdef PyObject* old = _slot(job, field)[0]
    Py_INCREF(value)
    _slot(job, field)[0] = <PyObject*>value
    Py_DECREF(<object>old)


cdef bytes _holder_key(object unique_key):
    """``_py.holder_key``: ``U`` and the key's UTF-8."""
    cdef const char* data
    cdef Py_ssize_t size
    cdef bytes out
    cdef char* p
    if _utf8(unique_key, &data, &size) != _OK:
        return _py.holder_key(unique_key)
    out = PyBytes_FromStringAndSize(NULL, 1 + size)
    p = PyBytes_AS_STRING(out)
    p[0] = b"U"
    memcpy(p + 1, data, size)
    return out


cdef bytes _holder_value(object job_id, object scope):
    """``_py.holder_value``: the id's ASCII, then the scope's byte."""
    cdef PyObject* byte = NULL
    cdef Py_ssize_t n
    cdef bytes out
    cdef char* p
    if PyUnicode_CheckExact(scope):
        byte = PyDict_GetItemWithError(_SCOPE_BYTES, scope)
    if byte == NULL or not _ascii(job_id):
        return _py.holder_value(job_id, scope)
    n = PyUnicode_GET_LENGTH(job_id)
    out = PyBytes_FromStringAndSize(NULL, n + 1)
    p = PyBytes_AS_STRING(out)
    memcpy(p, PyUnicode_DATA(job_id), n)
    p[n] = PyBytes_AS_STRING(<bytes>byte)[0]
    return out


def holder_key(unique_key):
    return _holder_key(unique_key)


def holder_value(job_id, scope):
    return _holder_value(job_id, scope)


def unique_results(list outcomes, list jobs):
    """``_py.unique_results``."""
    cdef Py_ssize_t n = len(outcomes), made = len(jobs), i, index
    cdef list results = [None] * n, duplicates = [None] * n
    cdef object outcome, job, position
    cdef bint duplicate
    for i in range(n):
        outcome = outcomes[i]
        if not PyLong_CheckExact(outcome):
            job, duplicate = outcome, True
        else:
            duplicate = outcome < 0
            position = ~outcome if duplicate else outcome
            if not 0 <= position < made:  # not a plan's: the reference raises
                return _py.unique_results(outcomes, jobs)
            index = position
            job = jobs[index]
        results[i] = job
        duplicates[i] = duplicate
    return results, duplicates
