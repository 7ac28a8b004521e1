"""Body formats: JSON and MessagePack requests and answers, and the take
stream's frames.

MessagePack is the default, as in the official clients: it is smaller and
cheaper to parse. Strings are always packed as msgpack ``str`` (the server
refuses ``bin`` inside payloads). The stream decoders are incremental:
``feed()`` takes whatever bytes arrived and returns the complete jobs, so
a frame split across reads costs nothing extra; heartbeats (an empty line,
or a zero-length frame) are dropped.
"""

import json

import msgpack

JSON = "json"
MSGPACK = "msgpack"
FORMATS = (JSON, MSGPACK)

CONTENT_TYPES = {JSON: "application/json", MSGPACK: "application/msgpack"}
STREAM_ACCEPT = {
    JSON: "application/x-ndjson",
    MSGPACK: "application/vnd.zizq.msgpack-stream",
}

_packer = msgpack.Packer(use_bin_type=True)


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {name!r}")
    return name


def encode(fmt: str, value) -> bytes:
    if fmt == MSGPACK:
        return _packer.pack(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def decode(content_type: str, data: bytes):
    """Decode an answer by its own content type (error pages may be JSON)."""
    if not data:
        return None
    if "msgpack" in content_type:
        return msgpack.unpackb(data, raw=False)
    if "json" in content_type:
        return json.loads(data)
    return data.decode(errors="replace")


class NdjsonFrames:
    """Splits an NDJSON take stream into job dicts."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list:
        data = self._rest + chunk
        lines = data.split(b"\n")
        self._rest = lines.pop()
        return [json.loads(line) for line in lines if line.strip()]


class MsgpackFrames:
    """Splits a length-prefixed MessagePack take stream into job dicts."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list:
        buffer = self._buffer
        buffer += chunk
        jobs, pos, end = [], 0, len(buffer)
        while end - pos >= 4:
            size = int.from_bytes(buffer[pos : pos + 4], "big")
            if end - pos - 4 < size:
                break
            if size:
                jobs.append(msgpack.unpackb(buffer[pos + 4 : pos + 4 + size]))
            pos += 4 + size
        del buffer[:pos]
        return jobs


def frame_decoder(fmt: str):
    return MsgpackFrames() if fmt == MSGPACK else NdjsonFrames()
