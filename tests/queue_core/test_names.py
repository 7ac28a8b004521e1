"""Name rules (API.md 2.4) and the 255-byte limit, on both enqueue readers."""

import orjson
import pytest

from queue_core import names
from queue_core.defaults import MAX_NAME_BYTES


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "queue must not be empty"),
        ("q" * 256, "queue must not be longer than 255 bytes"),
        ("\u00e9" * 128, "queue must not be longer than 255 bytes"),  # 256 bytes
        ("\U0001f600" * 64, "queue must not be longer than 255 bytes"),
        ("," * 300, "queue must not be longer than 255 bytes"),  # length first
        ("a,b", "queue must not contain ','"),
    ],
)
def test_names_problem(value, message):
    assert names.problem("queue", value) == message


@pytest.mark.parametrize("value", ["q" * 255, "\u00e9" * 127 + "q", "\U0001f600" * 63])
def test_names_up_to_255_bytes_are_valid(value):
    assert len(value.encode()) <= MAX_NAME_BYTES
    assert names.problem("type", value) is None


@pytest.mark.parametrize("size", [255, 256])
@pytest.mark.parametrize("char", ["q", "\u00e9"])
def test_plain_enqueue_readers_apply_the_limit(codec_impl, size, char):
    """The compiled readers check ASCII names themselves: same verdict."""
    name = char * (size // len(char.encode()))
    body = {"queue": name, "type": "t", "payload": 1}
    valid = len(name.encode()) <= MAX_NAME_BYTES
    assert (codec_impl.plain_enqueue_request(body) is not None) == valid
    bulk = orjson.dumps({"jobs": [body]})
    assert (codec_impl.plain_bulk_requests(bulk) is not None) == valid
