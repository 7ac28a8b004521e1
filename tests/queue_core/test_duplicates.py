"""Repeated fields of JSON bodies: both twins, compiled against reference."""

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_core.duplicates import _py


@pytest.fixture(scope="session", params=["cy", "py"])
def duplicates_impl(request):
    from .conftest import _twin

    return _twin("duplicates", request.param)


@pytest.mark.parametrize(
    "body, found",
    [
        (b'{"queue":"a","queue":"b"}', ("queue", 20)),
        (b' { "type" : 1 ,\n "type":2}', ("type", 23)),
        (b'{"jobs":[{"queue":"a"},{"type":1,"type":2}]}', ("type", 39)),
        (b'{"jobs":[],"jobs":[]}', ("jobs", 17)),
        (b'{"backoff":{"exponent":1,"exponent":2}}', ("exponent", 35)),
        (b'{"retention":{"dead_ms":1,"dead_ms":1}}', ("dead_ms", 35)),
        (b'{"batch":{"key":"a","key":"b"}}', ("key", 25)),
        (b'{"\\u0071ueue":1,"queue":2}', ("queue", 23)),  # keys compare decoded
        (b'{"x":1,"x":2,"queue":1,"queue":2}', ("queue", 30)),
    ],
)
def test_duplicate_field_finds_the_first_repeated_field(duplicates_impl, body, found):
    assert duplicates_impl.duplicate_field(body) == found


@pytest.mark.parametrize(
    "body",
    [
        b'{"queue":"a","type":"t","payload":{"a":1,"a":2}}',  # payload: last wins
        b'{"payload":[{"queue":1,"queue":2}],"queue":"q"}',
        b'{"x":1,"x":2}',  # unknown keys are ignored, repeats too
        b'{"x":{"queue":1,"queue":2}}',  # nor is an ignored value looked into
        b'{"jobs":[1,"a",{"queue":"x"}]}',
        b'{"queue":"\\"queue\\":","type":"queue"}',
        b'{"backoff":null,"retention":[1,{"dead_ms":1,"dead_ms":2}]}',
        b"[1,2]",
        b"{}",
        b'"queue"',
    ],
)
def test_duplicate_field_is_none_for_bodies_serde_accepts(duplicates_impl, body):
    assert duplicates_impl.duplicate_field(body) is None


def test_duplicate_field_handles_crowded_objects(duplicates_impl):
    keys = ",".join(f'"k{i}":{i}' for i in range(40))
    assert duplicates_impl.duplicate_field(f'{{{keys},"queue":1}}'.encode()) is None
    body = f'{{"queue":1,{keys},"queue":2}}'.encode()
    assert duplicates_impl.duplicate_field(body) == ("queue", len(body) - 3)


KEYS = st.sampled_from(
    ["queue", "type", "payload", "jobs", "backoff", "exponent", "x", "q\u00e9", "ids"]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=5) | KEYS,
    lambda inner: st.lists(inner, max_size=4)
    | st.lists(st.tuples(KEYS, inner), max_size=5),
    max_leaves=25,
)


def _render(value) -> bytes:
    """JSON text where a list of pairs is an object that may repeat keys."""
    if isinstance(value, list) and value and all(
        isinstance(v, tuple) for v in value
    ):
        items = (orjson.dumps(k) + b":" + _render(v) for k, v in value)
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, tuple):
        return _render(list(value))
    if isinstance(value, list):
        return b"[" + b", ".join(_render(v) for v in value) + b"]"
    return orjson.dumps(value)


@settings(max_examples=200)
@given(pairs=st.lists(st.tuples(KEYS, JSON), max_size=6))
def test_duplicate_field_twins_agree(duplicates_impl, pairs):
    body = _render(pairs) if pairs else b"{}"
    orjson.loads(body)  # only valid JSON is asked about
    assert duplicates_impl.duplicate_field(body) == _py.duplicate_field(body)
