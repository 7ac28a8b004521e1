"""The jq payload predicate of the job queries (API.md 7.4.1 ``filter``)."""

import threading

import pytest

from queue_core.errors import InvalidQuery
from queue_core.payload_filter import PayloadFilter, compile_payload_filter


def matches(expr, payload):
    return compile_payload_filter(expr).matches(payload)


def compile_error(expr):
    with pytest.raises(InvalidQuery) as caught:
        compile_payload_filter(expr)
    return caught.value.message


def test_compile_keeps_the_expression_text():
    assert compile_payload_filter(".user_id == 42").text == ".user_id == 42"


@pytest.mark.parametrize("expr", ["", "   ", ".[*]", ".user_id ====", "foo", ".x |"])
def test_compile_rejects_invalid_expression(expr):
    """400 ``invalid filter: <detail>``, an empty expression included."""
    message = compile_error(expr)
    assert message.startswith("invalid filter: ")
    assert len(message) > len("invalid filter: ")


def test_compile_error_detail_is_one_line_per_error():
    assert compile_error(".[*]") == (
        "invalid filter: syntax error, unexpected '*' at <top-level>, line 1, column 3"
    )
    assert compile_error("foo | bar") == (
        "invalid filter: foo/0 is not defined at <top-level>, line 1, column 1;"
        " bar/0 is not defined at <top-level>, line 1, column 7"
    )


def test_compile_rejects_nul_byte_when_rest_would_be_ignored():
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
        ('.greet | startswith("Uni")', '{"greet":"Unicorn"}', True),
        ('.greet | startswith("Uni")', '{"greet":"Hello"}', False),
        ('.email | test("@example\\\\.com$")', b'{"email":"u@example.com"}', True),
        ('.email | test("@example\\\\.com$")', b'{"email":"u@other.com"}', False),
        ('.name == "café"', '{"name":"café"}'.encode(), True),
    ],
)
def test_matches_evaluates_predicate(expr, payload, expected):
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
def test_matches_uses_jq_truthiness(payload, expected):
    """Only false and null are falsy: jq's 0, "" and [] match."""
    assert matches(".", payload) is expected


@pytest.mark.parametrize("payload", [b"42", b"null", b'"text"', b"[1,2]"])
def test_matches_is_false_when_field_test_meets_other_shapes(payload):
    """Indexing a number is a runtime error; a null payload never matches."""
    assert matches(".x == 1", payload) is False


def test_matches_is_false_when_field_is_missing():
    assert matches(".user_id == 42", b'{"other":"hello"}') is False


def test_matches_is_false_when_nested_index_fails():
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
def test_matches_when_any_output_is_truthy(expr, expected):
    """Outputs before a runtime error count; evaluation stops at the error."""
    assert matches(expr, b"[1,2,3]") is expected


@pytest.mark.parametrize("payload", [b"{bad", b"", "\udcff"])
def test_matches_is_false_when_payload_is_not_json(payload):
    assert matches(".", payload) is False


def test_matches_accepts_bytes_and_str_alike():
    predicate = compile_payload_filter(".n > 1")
    assert predicate.matches(b'{"n":2}') is predicate.matches('{"n":2}') is True


def test_matches_survives_many_errors_and_early_exits():
    """The program is reused: dead iterators must not poison later calls."""
    predicate = compile_payload_filter(".[] | .x > 1")
    for _ in range(2000):
        assert predicate.matches(b'[{"x":2},{"x":3}]') is True
        assert predicate.matches(b"[1]") is False
    assert predicate.matches(b'[{"x":0},{"x":5}]') is True


def test_matches_is_thread_safe():
    predicate = compile_payload_filter(".n % 2 == 0")
    failures = []

    def work(offset):
        for n in range(offset, offset + 500):
            if predicate.matches(f'{{"n":{n}}}') is not (n % 2 == 0):
                failures.append(n)

    threads = [threading.Thread(target=work, args=(i * 500,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_payload_filters_compare_by_text():
    first, second = compile_payload_filter(".a"), compile_payload_filter(".a")
    assert first == second and hash(first) == hash(second)
    assert first != compile_payload_filter(".b")
    assert repr(first) == "PayloadFilter('.a')"
    assert isinstance(first, PayloadFilter)
