"""Raw HTTP/1.1 on a socket, for tests that must see the bytes."""

import socket


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


def read_head(reader) -> tuple[bytes, dict]:
    """``(status line, headers)`` of the next response on ``reader`` (a
    socket's ``makefile("rb")``); header names are lowercased."""
    status = reader.readline().rstrip(b"\r\n")
    if not status:
        raise ConnectionError("server closed the connection")
    headers = {}
    while line := reader.readline().rstrip(b"\r\n"):
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip()
    return status, headers


def read_response(reader) -> tuple[bytes, dict, bytes]:
    """``read_head`` and the body after it, whole (length or chunked)."""
    status, headers = read_head(reader)
    if headers.get("transfer-encoding") == b"chunked":
        body = b""
        while size := int(reader.readline(), 16):
            body += reader.read(size)
            reader.readline()
        reader.readline()
    else:
        body = reader.read(int(headers.get("content-length", 0)))
    return status, headers, body
