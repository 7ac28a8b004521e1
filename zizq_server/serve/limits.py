"""What one request or one connection may cost: the body limit's 413, output bounds.

A request body over ``--max-request-body-size`` (``ZIZQ_MAX_REQUEST_BODY_SIZE``,
default 16 MiB, 0 = no limit) is refused by the transport with 413 and the
spec's error shape (API.md 2.3), before the application runs and before
the body is buffered: on HTTP/1.1 as soon as ``Content-Length`` says so, or
once a chunked body grows past the limit, and the connection then closes
(its unread body cannot be skipped); on HTTP/2 once the stream's DATA passes
the limit, and the stream is then reset with ``NO_ERROR`` so that the client
stops sending (RFC 9113 section 8.1). The real server has no limit (API.md
1); the default is far above any sane request, so only a hostile or broken
client meets it.

The body is JSON unless ``Accept`` asks for MessagePack, as every other
error is (the refusal happens before routing, so the 406 check does not
run first: an unacceptable ``Accept`` gets JSON).
"""

from zizq_server.api import negotiation

__all__ = ["HIGH_WATER_BYTES", "http1_too_large", "too_large"]

# Response bytes a connection may hold for a client that does not read them
# (complete responses waiting on HTTP/2 flow control) before it starts no
# further request: see h2.H2Channel.congested.
HIGH_WATER_BYTES = 256 * 1024


def too_large(limit: int, accept) -> tuple[bytes, bytes]:
    """``(content type, body)`` of the 413 for a body over ``limit`` bytes.

    ``accept`` is the request's ``Accept`` header value (bytes) or None.
    """
    fmt = negotiation.JSON
    if accept is not None:
        fmt = negotiation.response_format(accept.decode("latin-1")) or fmt
    error = {"error": f"request body too large (limit {limit} bytes)"}
    return fmt.encode(), negotiation.encode(fmt, error)


def http1_too_large(limit: int, accept) -> bytes:
    """The whole HTTP/1.1 413 response, closing the connection."""
    content_type, body = too_large(limit, accept)
    head = (
        b"HTTP/1.1 413 Request Entity Too Large\r\n"
        b"Content-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
    )
    return head % (content_type, len(body)) + body
