"""A server ``nghttp2_session`` for one HTTP/2 connection, fed bytes.

libnghttp2 (the C library behind curl and Apache's mod_http2) does the
protocol: the preface, frames, HPACK, SETTINGS, PING, flow control in both
directions (it grants the client's window back as DATA is read), stream
states, RST_STREAM, GOAWAY, the checks of RFC 9113 on every header block,
and the limits against misbehaving peers (resets, SETTINGS and PING acks,
CONTINUATION frames). ``Session`` is all a connection class needs of it:

- ``receive(data)`` parses what the transport read and calls, on the
  ``owner`` given at construction, ``_h2_request(stream_id, headers)``
  for a request's header block (a list of ``(name, value)`` bytes pairs,
  pseudo-headers first), ``_h2_data(stream_id, data)`` for body bytes,
  ``_h2_end(stream_id)`` when the request is complete, ``_h2_close(
  stream_id, error_code)`` when a stream is gone (either side), and
  ``_h2_goaway()`` for the client's GOAWAY;
- ``respond``, ``write``, ``reset`` and ``goaway`` queue frames;
  ``output()`` returns every byte due to the transport.

Response bodies wait in a queue per stream (``_Outbound``) that nghttp2's
data source reads as flow control and frame sizes allow: ``queued`` and
``finished_queued`` say how much is still there, for back-pressure.

An exception raised by the owner stops ``receive`` and is raised from it;
a fatal error of the library raises ``SessionError`` (the connection is
then to be dropped; a GOAWAY may be in ``output()``).
"""

from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy


cdef extern from "nghttp2/nghttp2.h":
    ctypedef struct nghttp2_session:
        pass
    ctypedef struct nghttp2_session_callbacks:
        pass
    ctypedef struct nghttp2_option:
        pass
    ctypedef struct nghttp2_stream:
        pass

    ctypedef struct nghttp2_frame_hd:
        size_t length
        int32_t stream_id
        uint8_t type
        uint8_t flags

    ctypedef struct nghttp2_headers:
        nghttp2_frame_hd hd
        int cat

    ctypedef union nghttp2_frame:
        nghttp2_frame_hd hd
        nghttp2_headers headers

    ctypedef struct nghttp2_nv:
        uint8_t *name
        uint8_t *value
        size_t namelen
        size_t valuelen
        uint8_t flags

    ctypedef struct nghttp2_settings_entry:
        int32_t settings_id
        uint32_t value

    ctypedef union nghttp2_data_source:
        int fd
        void *ptr

    ctypedef ssize_t (*nghttp2_data_source_read_callback)(
        nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
        uint32_t *data_flags, nghttp2_data_source *source, void *user_data)

    ctypedef struct nghttp2_data_provider:
        nghttp2_data_source source
        nghttp2_data_source_read_callback read_callback

    ctypedef int (*nghttp2_on_frame_recv_callback)(
        nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
    ctypedef int (*nghttp2_on_begin_headers_callback)(
        nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
    ctypedef int (*nghttp2_on_header_callback)(
        nghttp2_session *session, const nghttp2_frame *frame,
        const uint8_t *name, size_t namelen, const uint8_t *value,
        size_t valuelen, uint8_t flags, void *user_data)
    ctypedef int (*nghttp2_on_data_chunk_recv_callback)(
        nghttp2_session *session, uint8_t flags, int32_t stream_id,
        const uint8_t *data, size_t len, void *user_data)
    ctypedef int (*nghttp2_on_stream_close_callback)(
        nghttp2_session *session, int32_t stream_id, uint32_t error_code,
        void *user_data)

    enum:
        NGHTTP2_DATA
        NGHTTP2_HEADERS
        NGHTTP2_GOAWAY
        NGHTTP2_FLAG_NONE
        NGHTTP2_FLAG_END_STREAM
        NGHTTP2_HCAT_REQUEST
        NGHTTP2_DATA_FLAG_EOF
        NGHTTP2_NV_FLAG_NONE
        NGHTTP2_ERR_DEFERRED
        NGHTTP2_ERR_CALLBACK_FAILURE
        NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS
        NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE
        NGHTTP2_SETTINGS_ENABLE_PUSH
        NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES

    const char *nghttp2_strerror(int lib_error_code)
    int nghttp2_session_callbacks_new(nghttp2_session_callbacks **callbacks_ptr)
    void nghttp2_session_callbacks_del(nghttp2_session_callbacks *callbacks)
    void nghttp2_session_callbacks_set_on_frame_recv_callback(
        nghttp2_session_callbacks *cbs, nghttp2_on_frame_recv_callback cb)
    void nghttp2_session_callbacks_set_on_begin_headers_callback(
        nghttp2_session_callbacks *cbs, nghttp2_on_begin_headers_callback cb)
    void nghttp2_session_callbacks_set_on_header_callback(
        nghttp2_session_callbacks *cbs, nghttp2_on_header_callback cb)
    void nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        nghttp2_session_callbacks *cbs, nghttp2_on_data_chunk_recv_callback cb)
    void nghttp2_session_callbacks_set_on_stream_close_callback(
        nghttp2_session_callbacks *cbs, nghttp2_on_stream_close_callback cb)
    int nghttp2_option_new(nghttp2_option **option_ptr)
    void nghttp2_option_del(nghttp2_option *option)
    void nghttp2_option_set_no_closed_streams(nghttp2_option *option, int val)
    void nghttp2_option_set_stream_reset_rate_limit(
        nghttp2_option *option, uint64_t burst, uint64_t rate)
    int nghttp2_session_server_new2(
        nghttp2_session **session_ptr, const nghttp2_session_callbacks *callbacks,
        void *user_data, const nghttp2_option *option)
    void nghttp2_session_del(nghttp2_session *session)
    ssize_t nghttp2_session_mem_recv(
        nghttp2_session *session, const uint8_t *data, size_t length)
    ssize_t nghttp2_session_mem_send(nghttp2_session *session, const uint8_t **data_ptr)
    int nghttp2_session_want_read(nghttp2_session *session)
    int nghttp2_session_want_write(nghttp2_session *session)
    int nghttp2_submit_settings(
        nghttp2_session *session, uint8_t flags, const nghttp2_settings_entry *iv,
        size_t niv)
    int nghttp2_submit_response(
        nghttp2_session *session, int32_t stream_id, const nghttp2_nv *nva,
        size_t nvlen, const nghttp2_data_provider *data_prd)
    int nghttp2_submit_rst_stream(
        nghttp2_session *session, uint8_t flags, int32_t stream_id,
        uint32_t error_code)
    int nghttp2_submit_goaway(
        nghttp2_session *session, uint8_t flags, int32_t last_stream_id,
        uint32_t error_code, const uint8_t *opaque_data, size_t opaque_data_len)
    int32_t nghttp2_session_get_last_proc_stream_id(nghttp2_session *session)
    int nghttp2_session_resume_data(nghttp2_session *session, int32_t stream_id)
    nghttp2_stream *nghttp2_session_find_stream(
        nghttp2_session *session, int32_t stream_id)
    int32_t nghttp2_session_get_stream_remote_window_size(
        nghttp2_session *session, int32_t stream_id)


# The limits hyper-h2 and Twisted's H2Connection apply by default.
MAX_CONCURRENT_STREAMS = 100
MAX_HEADER_LIST_SIZE = 65536
RESET_BURST = 1000
RESET_RATE = 33


class SessionError(Exception):
    """A fatal libnghttp2 error: the connection cannot go on."""


cdef class _Outbound:
    """A response body waiting for nghttp2 to frame it."""

    cdef list chunks
    cdef Py_ssize_t offset  # bytes of chunks[0] already sent
    cdef Py_ssize_t queued  # bytes not yet sent
    cdef bint eof  # the last chunk is queued
    cdef bint deferred  # the data source said "later" and waits for resume

    def __cinit__(self):
        self.chunks = []


cdef class Session:
    """One server session; see the module docstring."""

    cdef nghttp2_session *session
    cdef object owner
    cdef dict outbound  # stream id -> _Outbound of a response with a body
    cdef dict blocks  # stream id -> header pairs of the block being received
    cdef object error  # the owner's exception that stopped receive()
    cdef Py_ssize_t finished  # queued bytes of responses whose end is queued

    def __cinit__(self, owner):
        cdef nghttp2_session_callbacks *callbacks
        cdef nghttp2_option *option
        cdef nghttp2_settings_entry settings[4]
        self.owner = owner
        self.outbound = {}
        self.blocks = {}
        if nghttp2_session_callbacks_new(&callbacks) != 0:
            raise MemoryError()
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, _on_frame_recv)
        nghttp2_session_callbacks_set_on_begin_headers_callback(
            callbacks, _on_begin_headers
        )
        nghttp2_session_callbacks_set_on_header_callback(callbacks, _on_header)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
            callbacks, _on_data_chunk
        )
        nghttp2_session_callbacks_set_on_stream_close_callback(
            callbacks, _on_stream_close
        )
        if nghttp2_option_new(&option) != 0:
            nghttp2_session_callbacks_del(callbacks)
            raise MemoryError()
        nghttp2_option_set_no_closed_streams(option, 1)
        nghttp2_option_set_stream_reset_rate_limit(option, RESET_BURST, RESET_RATE)
        result = nghttp2_session_server_new2(
            &self.session, callbacks, <void *>self, option
        )
        nghttp2_option_del(option)
        nghttp2_session_callbacks_del(callbacks)
        if result != 0:
            raise MemoryError()
        settings[0].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS
        settings[0].value = MAX_CONCURRENT_STREAMS
        settings[1].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE
        settings[1].value = MAX_HEADER_LIST_SIZE
        settings[2].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH
        settings[2].value = 0
        # PRIORITY frames are signals a server may ignore (RFC 9113 5.3):
        # no priority tree to fill.
        settings[3].settings_id = NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES
        settings[3].value = 1
        _check(nghttp2_submit_settings(self.session, NGHTTP2_FLAG_NONE, settings, 4))

    def __dealloc__(self):
        if self.session is not NULL:
            nghttp2_session_del(self.session)

    def receive(self, bytes data) -> None:
        """Parse ``data``, calling the owner for what it holds."""
        result = nghttp2_session_mem_recv(
            self.session, <const uint8_t *>PyBytes_AS_STRING(data),
            PyBytes_GET_SIZE(data),
        )
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        if result < 0:
            raise SessionError(nghttp2_strerror(<int>result).decode())

    def output(self) -> bytes:
        """Every byte due to the transport now (b"" for none)."""
        cdef const uint8_t *data
        cdef ssize_t length
        parts = []
        while True:
            length = nghttp2_session_mem_send(self.session, &data)
            if length < 0:
                if self.error is not None:
                    error, self.error = self.error, None
                    raise error
                raise SessionError(nghttp2_strerror(<int>length).decode())
            if length == 0:
                break
            parts.append(PyBytes_FromStringAndSize(<const char *>data, length))
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        if not parts:
            return b""
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def done(self) -> bool:
        """Whether the session has nothing more to read or write (after a
        GOAWAY either way): the connection is to be closed."""
        return not (
            nghttp2_session_want_read(self.session)
            or nghttp2_session_want_write(self.session)
        )

    def respond(self, int32_t stream_id, list head, bytes data, bint end) -> bool:
        """Queue a response's head, and its first body bytes (the whole body
        when ``end``); False if the stream is gone."""
        cdef nghttp2_data_provider provider
        cdef Py_ssize_t count = len(head), index
        cdef nghttp2_nv *nva = <nghttp2_nv *>malloc(count * sizeof(nghttp2_nv) + 1)
        cdef _Outbound outbound = None
        if nva is NULL:
            raise MemoryError()
        if nghttp2_session_find_stream(self.session, stream_id) is NULL:
            free(nva)
            return False
        try:
            for index in range(count):
                name, value = head[index]
                nva[index].name = <uint8_t *>PyBytes_AS_STRING(name)
                nva[index].namelen = PyBytes_GET_SIZE(name)
                nva[index].value = <uint8_t *>PyBytes_AS_STRING(value)
                nva[index].valuelen = PyBytes_GET_SIZE(value)
                nva[index].flags = NGHTTP2_NV_FLAG_NONE
            if end and not data:
                result = nghttp2_submit_response(
                    self.session, stream_id, nva, count, NULL
                )
            else:
                outbound = _Outbound()
                if data:
                    outbound.chunks.append(data)
                    outbound.queued = len(data)
                outbound.eof = end
                provider.source.ptr = <void *>outbound
                provider.read_callback = _read_body
                result = nghttp2_submit_response(
                    self.session, stream_id, nva, count, &provider
                )
        finally:
            free(nva)
        if result != 0:
            return False
        if outbound is not None:
            self.outbound[stream_id] = outbound
            if end:
                self.finished += outbound.queued
        return True

    def write(self, int32_t stream_id, bytes data, bint end) -> bool:
        """Queue more of a response's body; False if the stream is gone."""
        cdef _Outbound outbound = self.outbound.get(stream_id)
        if outbound is None or outbound.eof:
            return False
        if data:
            outbound.chunks.append(data)
            outbound.queued += len(data)
        if end:
            outbound.eof = True
            self.finished += outbound.queued
        if outbound.deferred:
            outbound.deferred = False
            nghttp2_session_resume_data(self.session, stream_id)
        return True

    def queued(self, int32_t stream_id) -> int:
        """Body bytes of the stream's response not yet framed."""
        cdef _Outbound outbound = self.outbound.get(stream_id)
        return 0 if outbound is None else outbound.queued

    def finished_queued(self) -> int:
        """Body bytes not yet framed of responses that are complete."""
        return self.finished

    def send_window(self, int32_t stream_id) -> int:
        """What flow control lets the server send on the stream now."""
        window = nghttp2_session_get_stream_remote_window_size(self.session, stream_id)
        return max(0, window)

    def reset(self, int32_t stream_id, uint32_t error_code) -> None:
        """Queue RST_STREAM for the stream."""
        nghttp2_submit_rst_stream(
            self.session, NGHTTP2_FLAG_NONE, stream_id, error_code
        )

    def goaway(self, uint32_t error_code) -> None:
        """Queue GOAWAY naming the last stream processed."""
        nghttp2_submit_goaway(
            self.session, NGHTTP2_FLAG_NONE,
            nghttp2_session_get_last_proc_stream_id(self.session),
            error_code, NULL, 0,
        )

    cdef int failed(self, error) noexcept:
        if self.error is None:
            self.error = error
        return NGHTTP2_ERR_CALLBACK_FAILURE


cdef inline void _check(int result) except *:
    if result != 0:
        raise SessionError(nghttp2_strerror(result).decode())


cdef int _on_begin_headers(
    nghttp2_session *session, const nghttp2_frame *frame, void *user_data
) noexcept with gil:
    cdef Session self = <Session>user_data
    if frame.hd.type == NGHTTP2_HEADERS and frame.headers.cat == NGHTTP2_HCAT_REQUEST:
        self.blocks[frame.hd.stream_id] = []
    return 0


cdef int _on_header(
    nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
    void *user_data,
) noexcept with gil:
    cdef Session self = <Session>user_data
    block = self.blocks.get(frame.hd.stream_id)
    if block is not None:  # trailers are checked by nghttp2, then dropped
        (<list>block).append((
            PyBytes_FromStringAndSize(<const char *>name, namelen),
            PyBytes_FromStringAndSize(<const char *>value, valuelen),
        ))
    return 0


cdef int _on_frame_recv(
    nghttp2_session *session, const nghttp2_frame *frame, void *user_data
) noexcept with gil:
    cdef Session self = <Session>user_data
    cdef int32_t stream_id = frame.hd.stream_id
    cdef uint8_t kind = frame.hd.type
    try:
        if kind == NGHTTP2_HEADERS:
            block = self.blocks.pop(stream_id, None)
            if block is not None:
                self.owner._h2_request(stream_id, block)
        elif kind == NGHTTP2_GOAWAY:
            self.owner._h2_goaway()
            return 0
        elif kind != NGHTTP2_DATA:
            return 0
        if frame.hd.flags & NGHTTP2_FLAG_END_STREAM:
            self.owner._h2_end(stream_id)
    except BaseException as error:
        return self.failed(error)
    return 0


cdef int _on_data_chunk(
    nghttp2_session *session, uint8_t flags, int32_t stream_id,
    const uint8_t *data, size_t length, void *user_data,
) noexcept with gil:
    cdef Session self = <Session>user_data
    try:
        self.owner._h2_data(
            stream_id, PyBytes_FromStringAndSize(<const char *>data, length)
        )
    except BaseException as error:
        return self.failed(error)
    return 0


cdef int _on_stream_close(
    nghttp2_session *session, int32_t stream_id, uint32_t error_code,
    void *user_data,
) noexcept with gil:
    cdef Session self = <Session>user_data
    cdef _Outbound outbound = self.outbound.pop(stream_id, None)
    self.blocks.pop(stream_id, None)
    if outbound is not None and outbound.eof:
        self.finished -= outbound.queued
    try:
        self.owner._h2_close(stream_id, error_code)
    except BaseException as error:
        return self.failed(error)
    return 0


cdef ssize_t _read_body(
    nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
    uint32_t *data_flags, nghttp2_data_source *source, void *user_data,
) noexcept with gil:
    cdef Session self = <Session>user_data
    cdef _Outbound outbound = <_Outbound>source.ptr
    cdef Py_ssize_t copied = 0, size, take
    cdef bytes chunk
    cdef list chunks = outbound.chunks
    while copied < <Py_ssize_t>length and chunks:
        chunk = <bytes>chunks[0]
        size = PyBytes_GET_SIZE(chunk) - outbound.offset
        take = min(size, <Py_ssize_t>length - copied)
        memcpy(buf + copied, PyBytes_AS_STRING(chunk) + outbound.offset, take)
        copied += take
        if take == size:
            del chunks[0]
            outbound.offset = 0
        else:
            outbound.offset += take
    outbound.queued -= copied
    if outbound.eof:
        self.finished -= copied
        if not chunks:
            data_flags[0] |= NGHTTP2_DATA_FLAG_EOF
    elif copied == 0:
        outbound.deferred = True
        return NGHTTP2_ERR_DEFERRED
    return copied
