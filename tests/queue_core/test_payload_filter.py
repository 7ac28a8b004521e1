"""The jq payload predicate of the job queries (API.md 7.4.1 ``filter``).

Every case runs through a real jq pool (worker processes), as the store
runs it.
"""

import pytest

from queue_core import payload_filter
from queue_core.errors import InvalidQuery
from queue_core.payload_filter import PayloadFilter

from . import jq_loop
from .jq_loop import run_with_pool

jq_run = jq_loop.jq_run  # the module's loop and pool (a fixture)


@pytest.fixture
def matches(jq_run):
    def match(expr, payload):
        async def body(pool):
            return await payload_filter.matches(pool, PayloadFilter(expr), [payload])

        return jq_run(body) == b"\x01"

    return match


@pytest.fixture
def compile_error(jq_run):
    def refuse(expr):
        async def body(pool):
            await payload_filter.matches(pool, PayloadFilter(expr), [])

        with pytest.raises(InvalidQuery) as caught:
            jq_run(body)
        return caught.value.message

    return refuse


def test_filter_keeps_the_expression_text():
    assert PayloadFilter(".user_id == 42").text == ".user_id == 42"


@pytest.mark.parametrize("expr", ["", "   ", ".[*]", ".user_id ====", "foo", ".x |"])
def test_compile_rejects_invalid_expression(compile_error, expr):
    """400 ``invalid filter: <detail>``, an empty expression included."""
    message = compile_error(expr)
    assert message.startswith("invalid filter: ")
    assert len(message) > len("invalid filter: ")


def test_compile_error_detail_is_one_line_per_error(compile_error):
    assert compile_error(".[*]") == (
        "invalid filter: syntax error, unexpected '*' at <top-level>, line 1, column 3"
    )
    assert compile_error("foo | bar") == (
        "invalid filter: foo/0 is not defined at <top-level>, line 1, column 1;"
        " bar/0 is not defined at <top-level>, line 1, column 7"
    )


def test_compile_rejects_nul_byte_when_rest_would_be_ignored(compile_error):
    """libjq would compile only ``.a``; the whole expression is refused."""
    assert compile_error(".a\0 | garbage(").startswith("invalid filter: ")


@pytest.mark.parametrize(
    "expr, payload, expected",
    [
        (".user_id == 42", b'{"user_id":42}', True),
        (".user_id == 42", b'{"user_id":43}', False),
        ('.user.email == "a@b.com"', b'{"user":{"email":"a@b.com"}}', True),
        ('.tags | contains(["urgent"])', b'{"tags":["urgent","email"]}', True),
        ('.tags | contains(["urgent"])', b'{"tags":["email"]}', False),
        (".priority < 10", b'{"priority":5}', True),
        (".a == 1 and .b == 2", b'{"a":1,"b":3}', False),
        ("select(.x > 5)", b'{"x":10}', True),
        ("select(.x > 5)", b'{"x":3}', False),
        ('.greet | startswith("Uni")', b'{"greet":"Unicorn"}', True),
        ('.greet | startswith("Uni")', b'{"greet":"Hello"}', False),
        ('.email | test("@example\\\\.com$")', b'{"email":"u@example.com"}', True),
        ('.email | test("@example\\\\.com$")', b'{"email":"u@other.com"}', False),
        ('.name == "café"', '{"name":"café"}'.encode(), True),
    ],
)
def test_matches_evaluates_predicate(matches, expr, payload, expected):
    assert matches(expr, payload) is expected


@pytest.mark.parametrize(
    "payload, expected",
    [
        (b"42", True),
        (b"0", True),
        (b'""', True),
        (b"[]", True),
        (b"{}", True),
        (b"true", True),
        (b"false", False),
        (b"null", False),
    ],
)
def test_matches_uses_jq_truthiness(matches, payload, expected):
    """Only false and null are falsy: jq's 0, "" and [] match."""
    assert matches(".", payload) is expected


@pytest.mark.parametrize("payload", [b"42", b"null", b'"text"', b"[1,2]"])
def test_matches_is_false_when_field_test_meets_other_shapes(matches, payload):
    """Indexing a number is a runtime error; a null payload never matches."""
    assert matches(".x == 1", payload) is False


def test_matches_is_false_when_field_is_missing(matches):
    assert matches(".user_id == 42", b'{"other":"hello"}') is False


def test_matches_is_false_when_nested_index_fails(matches):
    assert matches(".a.b.c", b'{"a":1}') is False


@pytest.mark.parametrize(
    "expr, expected",
    [
        (".[] | . > 2", True),
        (".[] | . > 5", False),
        ("false, null, 1", True),
        ("false, null", False),
        ("empty", False),
        ('1, error("x")', True),
        ('error("x"), true', False),
        ("error(null)", False),
        ("input", False),
    ],
)
def test_matches_when_any_output_is_truthy(matches, expr, expected):
    """Outputs before a runtime error count; evaluation stops at the error."""
    assert matches(expr, b"[1,2,3]") is expected


@pytest.mark.parametrize("payload", [b"{bad", b"", b"\xff"])
def test_matches_is_false_when_payload_is_not_json(matches, payload):
    assert matches(".", payload) is False


def test_matches_one_verdict_a_payload_in_order(jq_run):
    payloads = [b'{"n":2}', b"[1]", b'{"n":0}', b"{bad", b'{"n":5}']

    async def body(pool):
        return await payload_filter.matches(pool, PayloadFilter(".n > 1"), payloads)

    assert jq_run(body) == bytes([1, 0, 0, 0, 1])


def test_matches_survives_many_errors_and_early_exits(jq_run):
    """The program is reused: dead iterators must not poison later calls."""
    predicate = PayloadFilter(".[] | .x > 1")
    payloads = [b'[{"x":2},{"x":3}]', b"[1]"] * 2000 + [b'[{"x":0},{"x":5}]']

    async def body(pool):
        return await payload_filter.matches(pool, predicate, payloads)

    assert jq_run(body) == b"\x01\x00" * 2000 + b"\x01"


def test_payload_filters_compare_by_text():
    first, second = PayloadFilter(".a"), PayloadFilter(".a")
    assert first == second and hash(first) == hash(second)
    assert first != PayloadFilter(".b")
    assert repr(first) == "PayloadFilter('.a')"


@pytest.mark.parametrize("expr", ["$ENV == {}", "env == {}"])
def test_filter_sees_an_empty_environment(matches, expr):
    """A secret in the server's environment cannot be probed bit by bit."""
    assert matches(expr, b"null") is True


@pytest.mark.parametrize(
    "expr",
    ['import "data" as $d; $d', 'include "mod"; hi', 'import "sub/data" as $d; $d'],
)
def test_filter_reads_no_module_or_data_file_of_the_server(tmp_path, monkeypatch, expr):
    """libjq looks up ``import``/``include`` in the working directory."""
    (tmp_path / "sub").mkdir()
    for name in ("data.json", "sub/data.json"):
        (tmp_path / name).write_text('{"secret": 1}')
    (tmp_path / "mod.jq").write_text('def hi: "leak";')
    monkeypatch.chdir(tmp_path)

    async def body(pool):
        with pytest.raises(InvalidQuery) as caught:
            await payload_filter.matches(pool, PayloadFilter(expr), [b"null"])
        return caught.value.message

    assert run_with_pool(body).startswith("invalid filter: module not found: ")


@pytest.mark.parametrize(
    "expr, limit",
    [
        ("def f: f; f", "the time limit of 200 ms"),
        ("null | .[536870000] = 1 | length > 0", "the memory limit of 512 MiB"),
    ],
)
def test_filter_past_a_bound_is_refused_with_the_bound_named(expr, limit):
    async def body(pool):
        with pytest.raises(InvalidQuery) as caught:
            await payload_filter.matches(pool, PayloadFilter(expr), [b"null"])
        return caught.value.message

    assert run_with_pool(body, time_limit_ms=200) == f"filter exceeded {limit}"
