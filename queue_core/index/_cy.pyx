# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""In-memory ready and time indexes (compiled twin of ``_py.py``).

The public behaviour is the reference's: same methods, results and ordering,
lazy removal. What differs is the representation. Each heap is a C array of
``_Entry`` structs: the ordering key (priority or timestamp, then the first
24 bytes of the id as three big-endian words) is compared with integer
compares instead of tuple and string comparisons. UTF-8 preserves code point
order byte for byte, so word order is ``str`` order; ids that agree on those
24 bytes (never two SCRU128 ids, which differ earlier) fall back to comparing
the strings, which keeps the order exact for any id.

Staleness is decided by identity, not by value: every ``add`` makes a
``_Member`` that the member table and one heap entry share, and ``remove``
clears its ``live`` flag, so a surfacing head is checked without a dict
lookup. A heap entry whose member is dead is skipped when it surfaces and
dropped by compaction, with the reference's ``2 * live + 64`` threshold.

The compiled twin types what the reference leaves open, to the engine's
validated domain: ids are ``str``, priorities fit in 64 signed bits and
timestamps are u64 (``now_ms`` an int); other arguments raise ``TypeError``
or ``OverflowError`` where the reference would carry on.
"""

cimport cython
from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memset


cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    void* PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    int PyUnicode_Compare(object, object)

cdef enum:
    _KEY_BYTES = 24
    _COMPACT_SLACK = 64

# Priorities are signed; flipping the sign bit maps them onto unsigned words
# in the same order, so one heap serves both indexes.
cdef uint64_t _SIGN = 1ULL << 63


ctypedef struct _Entry:
    uint64_t primary  # priority (sign-flipped) or timestamp
    uint64_t k0, k1, k2  # the id's first 24 UTF-8 bytes, zero padded
    PyObject* member  # an owned reference to the entry's _Member


@cython.final
@cython.no_gc  # holds an id and a queue name: it can close no cycle
@cython.freelist(256)
cdef class _Member:
    """One indexed job; shared by the member table and its heap entry."""

    cdef str id
    cdef object queue
    cdef uint64_t primary
    cdef bint live


cdef inline uint64_t _word(const unsigned char* b) noexcept nogil:
    cdef uint64_t w = 0
    cdef int i
    for i in range(8):
        w = (w << 8) | b[i]
    return w


cdef int _fill(_Entry* e, _Member m) except -1:
    cdef const unsigned char* p
    cdef Py_ssize_t n
    cdef unsigned char buf[_KEY_BYTES]
    cdef bytes raw
    if PyUnicode_IS_ASCII(m.id):
        p = <const unsigned char*>PyUnicode_DATA(m.id)
        n = PyUnicode_GET_LENGTH(m.id)
    else:
        # surrogatepass: a str may hold lone surrogates, and their 3-byte
        # form still sorts in code point order.
        raw = m.id.encode("utf-8", "surrogatepass")
        p = <const unsigned char*><char*>raw
        n = len(raw)
    if n > _KEY_BYTES:
        n = _KEY_BYTES
    memset(buf, 0, _KEY_BYTES)
    memcpy(buf, p, n)
    e.primary = m.primary
    e.k0 = _word(buf)
    e.k1 = _word(buf + 8)
    e.k2 = _word(buf + 16)
    e.member = <PyObject*>m
    Py_INCREF(m)
    return 0


cdef inline bint _less(const _Entry* a, const _Entry* b) noexcept:
    if a.primary != b.primary:
        return a.primary < b.primary
    if a.k0 != b.k0:
        return a.k0 < b.k0
    if a.k1 != b.k1:
        return a.k1 < b.k1
    if a.k2 != b.k2:
        return a.k2 < b.k2
    if a.member == b.member:
        return False
    # Equal 24-byte prefixes: only the full strings can tell.
    return PyUnicode_Compare(
        (<_Member>a.member).id, (<_Member>b.member).id
    ) < 0


@cython.final
cdef class _Heap:
    """A binary min-heap of entries (heapq's algorithms on a C array)."""

    cdef _Entry* data
    cdef Py_ssize_t size
    cdef Py_ssize_t cap
    cdef Py_ssize_t live  # ReadyIndex: entries whose member is live

    def __dealloc__(self):
        cdef Py_ssize_t i
        for i in range(self.size):
            Py_XDECREF(self.data[i].member)
        free(self.data)

    cdef int push(self, _Member m) except -1:
        cdef Py_ssize_t cap
        cdef _Entry* grown
        if self.size == self.cap:
            cap = self.cap * 2 if self.cap else 8
            grown = <_Entry*>realloc(self.data, cap * sizeof(_Entry))
            if grown == NULL:
                raise MemoryError()
            self.data = grown
            self.cap = cap
        _fill(&self.data[self.size], m)
        self.size += 1
        self._sift_down(0, self.size - 1)
        return 0

    cdef _Member pop(self):
        """Remove the head; the caller gets the heap's member reference."""
        cdef PyObject* head = self.data[0].member
        cdef _Member m = <_Member>head
        Py_XDECREF(head)
        self.size -= 1
        if self.size:
            self.data[0] = self.data[self.size]
            self._sift_up(0)
        return m

    cdef bint settle(self) noexcept:
        """Drop dead heads; True if a live head remains."""
        while self.size:
            if (<_Member>self.data[0].member).live:
                return True
            self.pop()
        return False

    cdef void compact(self) noexcept:
        cdef Py_ssize_t i, n = 0
        for i in range(self.size):
            if (<_Member>self.data[i].member).live:
                self.data[n] = self.data[i]
                n += 1
            else:
                Py_XDECREF(self.data[i].member)
        self.size = n
        for i in reversed(range(n // 2)):
            self._sift_up(i)

    cdef void _sift_down(self, Py_ssize_t start, Py_ssize_t pos) noexcept:
        # heapq._siftdown: move the item at pos up towards start.
        cdef _Entry item = self.data[pos]
        cdef Py_ssize_t parent
        while pos > start:
            parent = (pos - 1) >> 1
            if _less(&item, &self.data[parent]):
                self.data[pos] = self.data[parent]
                pos = parent
            else:
                break
        self.data[pos] = item

    cdef void _sift_up(self, Py_ssize_t pos) noexcept:
        # heapq._siftup: sink to a leaf along smaller children, then back up.
        cdef Py_ssize_t start = pos, end = self.size
        cdef Py_ssize_t child = 2 * pos + 1
        cdef _Entry item = self.data[pos]
        while child < end:
            if child + 1 < end and not _less(
                &self.data[child], &self.data[child + 1]
            ):
                child += 1
            self.data[pos] = self.data[child]
            pos = child
            child = 2 * pos + 1
        self.data[pos] = item
        self._sift_down(start, pos)


cdef inline _Member _member(str job_id, object queue, uint64_t primary):
    cdef _Member m = _Member.__new__(_Member)
    m.id = job_id
    m.queue = queue
    m.primary = primary
    m.live = True
    return m


@cython.final
cdef class ReadyIndex:
    """Ready jobs by queue, ordered by (priority, id)."""

    cdef dict _members  # id -> _Member
    cdef dict _heaps  # queue -> _Heap holding at least one live member

    def __cinit__(self):
        self._members = {}
        self._heaps = {}

    def __len__(self):
        return len(self._members)

    def __contains__(self, job_id):
        return job_id in self._members

    def get(self, job_id):
        """``(queue, priority)`` of a ready job, or None."""
        cdef _Member m = self._members.get(job_id)
        if m is None:
            return None
        return (m.queue, <int64_t>(m.primary ^ _SIGN))

    def queue_count(self, queue):
        cdef PyObject* heap = PyDict_GetItemWithError(self._heaps, queue)
        return 0 if heap == NULL else (<_Heap>heap).live

    def add(self, str job_id not None, queue, int64_t priority):
        cdef PyObject* old = PyDict_GetItemWithError(self._members, job_id)
        cdef PyObject* found
        cdef _Heap heap
        cdef _Member m
        if old != NULL:
            self._forget(<_Member>old, None)
        m = _member(job_id, queue, (<uint64_t>priority) ^ _SIGN)
        self._members[job_id] = m
        found = PyDict_GetItemWithError(self._heaps, queue)
        if found == NULL:
            heap = _Heap.__new__(_Heap)
            self._heaps[queue] = heap
        else:
            heap = <_Heap>found
        heap.live += 1
        heap.push(m)

    def remove(self, job_id):
        """Drop a job; True if it was ready."""
        cdef PyObject* m = PyDict_GetItemWithError(self._members, job_id)
        if m == NULL:
            return False
        self._forget(<_Member>m, None)
        return True

    def pop_best(self, queues=None):
        """Claim the best job of ``queues`` (None = all).

        Returns ``(id, queue, priority)``, or None if they hold no job.
        """
        cdef _Heap best = None, heap
        cdef PyObject* key
        cdef PyObject* value
        cdef Py_ssize_t pos = 0
        cdef _Member m
        if queues is None:
            while PyDict_Next(self._heaps, &pos, &key, &value):
                heap = <_Heap>value
                heap.settle()
                if best is None or _less(heap.data, best.data):
                    best = heap
        else:
            for queue in queues:
                heap = self._heaps.get(queue)
                if heap is not None:
                    heap.settle()
                    if best is None or _less(heap.data, best.data):
                        best = heap
        if best is None:
            return None
        m = best.pop()
        self._forget(m, best)
        return m.id, m.queue, <int64_t>(m.primary ^ _SIGN)

    cdef int _forget(self, _Member m, _Heap heap) except -1:
        """Drop a live member; ``heap`` is its queue's heap if known."""
        if heap is None:
            heap = self._heaps[m.queue]
        del self._members[m.id]
        m.live = False
        heap.live -= 1
        if not heap.live:
            del self._heaps[m.queue]
        elif heap.size > 2 * heap.live + _COMPACT_SLACK:
            heap.compact()
        return 0

    def ordered(self, queue=None):
        """Every ready ``(priority, id, queue)`` in take order (admin)."""
        cdef _Member m
        return sorted([
            (<int64_t>(m.primary ^ _SIGN), m.id, m.queue)
            for m in self._members.values()
            if queue is None or m.queue == queue
        ])

    def snapshot(self):
        """The members now, for ``keys`` (their keys never change)."""
        return list(self._members.values())

    def keys(self, list snapshot not None, Py_ssize_t start, Py_ssize_t stop):
        """``(priority, id, queue)`` of ``snapshot[start:stop]``, unsorted."""
        cdef list out = []
        cdef _Member m
        cdef Py_ssize_t k
        for k in range(max(start, 0), min(stop, len(snapshot))):
            m = <_Member>snapshot[k]
            out.append((<int64_t>(m.primary ^ _SIGN), m.id, m.queue))
        return out


@cython.final
cdef class TimeIndex:
    """Jobs ordered by (timestamp, id): scheduled jobs by ``ready_at``."""

    cdef dict _members  # id -> _Member
    cdef _Heap _heap

    def __cinit__(self):
        self._members = {}
        self._heap = _Heap.__new__(_Heap)

    def __len__(self):
        return len(self._members)

    def __contains__(self, job_id):
        return job_id in self._members

    def get(self, job_id):
        cdef _Member m = self._members.get(job_id)
        return None if m is None else m.primary

    def add(self, str job_id not None, uint64_t at_ms):
        cdef PyObject* old = PyDict_GetItemWithError(self._members, job_id)
        cdef _Member m = _member(job_id, None, at_ms)
        if old != NULL:
            (<_Member>old).live = False
        self._members[job_id] = m
        self._heap.push(m)

    def remove(self, job_id):
        cdef _Member m = self._members.pop(job_id, None)
        if m is None:
            return False
        m.live = False
        if self._heap.size > 2 * len(self._members) + _COMPACT_SLACK:
            self._heap.compact()
        return True

    def peek(self):
        """The earliest ``(timestamp, id)``, or None."""
        cdef _Member m
        if not self._heap.settle():
            return None
        m = <_Member>self._heap.data[0].member
        return m.primary, m.id

    def pop_due(self, now_ms, Py_ssize_t limit):
        """Remove and return up to ``limit`` due ids, earliest first."""
        cdef list due = []
        cdef uint64_t now
        cdef _Member m
        if now_ms < 0:
            return due
        now = now_ms if now_ms <= 0xFFFFFFFFFFFFFFFF else 0xFFFFFFFFFFFFFFFF
        while len(due) < limit and self._heap.settle():
            if self._heap.data[0].primary > now:
                break
            m = self._heap.pop()
            m.live = False
            del self._members[m.id]
            due.append(m.id)
        return due

    def ordered(self):
        """Every ``(timestamp, id)`` in order (admin views)."""
        cdef _Member m
        return sorted([(m.primary, m.id) for m in self._members.values()])

    def snapshot(self):
        """The members now, for ``keys`` (their keys never change)."""
        return list(self._members.values())

    def keys(self, list snapshot not None, Py_ssize_t start, Py_ssize_t stop):
        """``(timestamp, id)`` of ``snapshot[start:stop]``, unsorted."""
        cdef list out = []
        cdef _Member m
        cdef Py_ssize_t k
        for k in range(max(start, 0), min(stop, len(snapshot))):
            m = <_Member>snapshot[k]
            out.append((m.primary, m.id))
        return out
