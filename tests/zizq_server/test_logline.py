"""``zizq_server.logline``: the compiled line pieces against the reference.

Every piece gives the same text, or keeps the same records, in both twins,
for the inputs Hypothesis finds; ``Pending`` is driven on real loggers and
the real handler of ``zizq_server.logging``, as the request log drives it.
"""

import asyncio
import importlib
import io
import json
import logging
import os
import time
from types import MappingProxyType

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zizq_server import logging as zlogging
from zizq_server import logline
from zizq_server.logline import Quoted

NO_EXTENSIONS = bool(os.environ.get("ZIZQ_NO_EXTENSIONS"))
py = importlib.import_module("zizq_server.logline._py")


@pytest.fixture(scope="session")
def cy():
    if NO_EXTENSIONS:
        pytest.skip("ZIZQ_NO_EXTENSIONS=1: the compiled twin is not under test")
    return importlib.import_module("zizq_server.logline._cy")


@pytest.fixture(scope="session", params=["cy", "py"])
def twin(request):
    if request.param == "cy":
        return request.getfixturevalue("cy")
    return py


def test_the_selector_runs_the_compiled_twin_unless_disabled():
    assert logline.IMPLEMENTATION == ("python" if NO_EXTENSIONS else "cython")


# Seconds from 1970 to past 9999 (strftime's four-digit years), with the
# fractions a float keeps there.
created = st.floats(min_value=0, max_value=253_402_300_799, allow_nan=False)
text = st.text(max_size=20)
value = st.one_of(
    text,
    text.map(Quoted),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.lists(st.integers(), max_size=3),
)
fields = st.one_of(st.none(), st.dictionaries(text, value, max_size=5))


@given(moments=st.lists(created, min_size=1, max_size=5))
def test_timestamps_match(cy, moments):
    compiled, reference = cy.Stamps(), py.Stamps()
    for moment in moments:  # the cached second, then another
        assert compiled.text(moment) == reference.text(moment)


def test_a_timestamp_shows_whole_microseconds():
    assert py.Stamps().text(1_770_000_000.5) == "2026-02-02T02:40:00.500000Z"


@given(level=st.integers(min_value=-5, max_value=60))
def test_level_labels_match(cy, level):
    assert cy.level_label(level) == py.level_label(level)


@given(field=value)
def test_field_texts_match(cy, field):
    assert cy.field_text(field) == py.field_text(field)


def test_field_texts():
    assert [py.field_text(v) for v in ("a b", Quoted('x"é'), True, 3, 0.25)] == [
        "a b", '"x\\"é"', "true", "3", "0.25"
    ]


@given(moment=created, level=st.integers(0, 50), target=text, message=text,
       record_fields=fields)
def test_compact_lines_match(cy, moment, level, target, message, record_fields):
    args = (moment, level, target, message, record_fields)
    assert cy.compact_line(cy.Stamps(), *args) == py.compact_line(py.Stamps(), *args)


@given(
    entries=st.lists(
        st.tuples(created, st.sampled_from(["zizq.api", "zizq.cron", "x"]), text,
                  fields, st.just("f.py"), st.just(1)),
        max_size=5,
    )
)
def test_batches_of_compact_lines_match(cy, entries):
    compiled_targets, reference_targets = {}, {}
    compiled = cy.compact_lines(cy.Stamps(), compiled_targets, entries)
    assert compiled == py.compact_lines(py.Stamps(), reference_targets, entries)
    assert compiled_targets == reference_targets


def dumps(value) -> bytes:
    return orjson.dumps(value, default=str)


def outcome(function, *args):
    """What ``function`` returns, or the type of what it raises (orjson
    refuses integers past 64 bits)."""
    try:
        return function(*args)
    except TypeError as exc:
        return type(exc)


@given(moment=created, level=st.integers(0, 50), target=text, message=text,
       record_fields=fields)
def test_json_lines_match(cy, moment, level, target, message, record_fields):
    args = (moment, level, dumps(target).decode(), message, record_fields, dumps)
    compiled = outcome(cy.json_line, cy.Stamps(), *args)
    assert compiled == outcome(py.json_line, py.Stamps(), *args)
    if isinstance(compiled, str):
        assert orjson.loads(compiled)["fields"]["message"] == (
            (record_fields or {}).get("message", message)
        )


@pytest.mark.parametrize(
    "record_fields",
    [{"message": "over", "a": 1}, MappingProxyType({"a": 1}), {"a": {"b": [1]}}],
)
@pytest.mark.parametrize("message", ["request", "é\n\"", ""])
def test_json_lines_match_where_the_fields_are_not_spliced(cy, message, record_fields):
    """A field named ``message`` overrides the message in place; a mapping
    that is not a dict is merged; anything else is spliced behind the
    message's cached head."""
    args = (1.5, 20, '"t"', message, record_fields, dumps)
    assert cy.json_line(cy.Stamps(), *args) == py.json_line(py.Stamps(), *args)
    entries = [(1.5, "zizq.api", message, record_fields, "f.py", 1)] * 2
    # A batch caches the message's head for its second record and later ones.
    compiled = cy.json_lines(cy.Stamps(), {}, dumps, entries)
    assert compiled == py.json_lines(py.Stamps(), {}, dumps, entries)


def test_a_cached_message_head_belongs_to_its_dumps(cy):
    def ascii_dumps(value) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    entries = [(1.5, "zizq.api", "é", {"a": 1}, "f.py", 1)] * 2
    for encode in (dumps, ascii_dumps, dumps):
        compiled = cy.json_lines(cy.Stamps(), {}, encode, entries)
        assert compiled == py.json_lines(py.Stamps(), {}, encode, entries)


@given(
    entries=st.lists(
        st.tuples(created, st.sampled_from(["zizq.api", "zizq.cron"]), text,
                  fields, st.just("f.py"), st.just(1)),
        max_size=5,
    )
)
def test_batches_of_json_lines_match(cy, entries):
    compiled_targets, reference_targets = {}, {}
    compiled = outcome(cy.json_lines, cy.Stamps(), compiled_targets, dumps, entries)
    assert compiled == outcome(
        py.json_lines, py.Stamps(), reference_targets, dumps, entries
    )
    assert compiled_targets == reference_targets


@pytest.mark.parametrize("query", [b"", b"queue=a&x=%C3%A9", b"\xe9"])
def test_request_fields_match(twin, monkeypatch, query):
    monkeypatch.setattr(time, "perf_counter_ns", lambda: 7_123_999)
    scope = {"method": "GET", "path": "/jobs", "query_string": query}
    path = "/jobs" + ("?" + query.decode("latin-1") if query else "")
    assert twin.request_fields(scope, 200, 2_000_000) == {
        "method": "GET", "path": path, "status": 200, "latency_ms": 5.123
    }


# -- Pending ---------------------------------------------------------------------


@pytest.fixture
def installed(monkeypatch):
    """A compact stream handler alone on the root logger, whose records
    are kept by the twin's ``Pending``; ``(pending, stream)``."""

    def install(twin):
        stream = io.StringIO()
        handler = zlogging.BatchFlushedStreamHandler(stream)
        handler.setFormatter(zlogging.CompactFormatter())
        handler.pending = twin.Pending(handler, zlogging._ZizqFormatter, 0.001)
        monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
        # The pretty format's set-up: the caller is looked for.
        monkeypatch.setattr(logging, "_srcfile", zlogging._STDLIB_SRCFILE)
        return handler.pending, stream

    return install


def test_pending_keeps_the_record_and_its_caller(twin, installed, monkeypatch):
    pending, stream = installed(twin)
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.25)
    logger = logging.getLogger("zizq.api.primary")

    async def run():
        kept = pending.defer(logger, "request", {"a": 1}, 0)
        line = run.__code__.co_firstlineno + 1  # the line of the call above
        assert kept and stream.getvalue() == ""
        assert pending.entries == [
            (1_700_000_000.25, "zizq.api.primary", "request", {"a": 1},
             "test_logline.py", line)
        ]
        await asyncio.sleep(0.005)  # the flush is due after 1 ms

    asyncio.run(run())
    assert pending.entries == []
    assert stream.getvalue() == (
        "2023-11-14T22:13:20.250000Z  INFO zizq::api::primary: request a=1\n"
    )


def test_many_records_share_their_moment_and_caller(twin, installed, monkeypatch):
    pending, _ = installed(twin)
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.5)
    logger = logging.getLogger("zizq.cron")

    async def run():
        pending.defer_many(logger, "m", [{"n": 1}, {"n": 2}], 0)
        return pending.take()

    line = run.__code__.co_firstlineno + 1
    assert asyncio.run(run()) == [
        (1_700_000_000.5, "zizq.cron", "m", {"n": n}, "test_logline.py", line)
        for n in (1, 2)
    ]


def test_without_a_caller_the_stdlib_placeholder_is_kept(twin, installed):
    pending, _ = installed(twin)
    logging._srcfile = None  # the compact and json formats' set-up

    async def run():
        pending.defer(logging.getLogger("zizq.api"), "request", None, 0)
        return pending.take()

    ((*_, filename, lineno),) = asyncio.run(run())
    assert (filename, lineno) == ("(unknown file)", 0)


def test_pending_flushes_at_once_outside_a_loop(twin, installed):
    pending, stream = installed(twin)
    assert pending.defer(logging.getLogger("zizq.cron"), "cron job enqueued", {}, 0)
    assert stream.getvalue().endswith(" INFO zizq::cron: cron job enqueued\n")
    assert pending.take() == []


def _extra_handler(logger):
    logging.getLogger().handlers.append(logging.NullHandler())


def _filtered(logger):
    logger.addFilter(lambda record: True)


def _not_propagating(logger):
    logging.getLogger("zizq").propagate = False


def _handler_on_the_way(logger):
    logging.getLogger("zizq").addHandler(logging.NullHandler())


def _quiet_handler(logger):
    logging.getLogger().handlers[0].setLevel(logging.WARNING)


def _foreign_formatter(logger):
    logging.getLogger().handlers[0].setFormatter(logging.Formatter())


@pytest.mark.parametrize(
    "change",
    [_extra_handler, _filtered, _not_propagating, _handler_on_the_way,
     _quiet_handler, _foreign_formatter],
)
def test_pending_refuses_what_another_could_see(twin, installed, change):
    pending, stream = installed(twin)
    logger = logging.getLogger("zizq.api.primary")
    zizq = logging.getLogger("zizq")
    change(logger)
    try:
        assert pending.defer(logger, "request", {}, 0) is False
    finally:
        logger.filters.clear()
        zizq.handlers.clear()
        zizq.propagate = True
    assert pending.entries == [] and stream.getvalue() == ""
