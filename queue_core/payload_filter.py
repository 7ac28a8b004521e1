"""The ``filter`` query parameter: a jq predicate over a job's payload.

A job matches when the program, run with ``.`` set to the payload, emits
any truthy value (anything but ``false`` and ``null``). Runtime errors and
unparsable payloads are non-matches, never errors: payloads in one store
are heterogeneous, so ``.user_id == 42`` must simply skip a payload of
``42`` (spec API.md 7.4.1).

A ``PayloadFilter`` is only the program's text: libjq never runs in the
server process. Compiling and matching happen in the store's jq pool
(``queue_core.sandbox``), which bounds each run's CPU time and memory and
keeps the event loop free; this module turns the pool's refusals into the
query's 400s: ``invalid filter: <libjq's detail>`` for a program that does
not compile (an empty one included, as in the real server), and ``filter
exceeded the time limit of 1000 ms`` or ``... the memory limit of 512 MiB``
for one that overruns on some payload. The store compiles a filter with
the first batch of payloads it sends, or alone when there is none, so a bad
one is refused even over an empty store, and always after the other query
checks (``queue_core.filters``), which come before the store is called.

Payloads are stored as compact JSON text, which is handed to libjq as text:
no Python object is built for the input. Parsing the payload dominates a
run (tens of ns a byte over a few us), so callers apply the cheap metadata
tests first and send the pool only the payloads that pass them, in batches.

libjq cannot resume after a runtime error: asking its iterator for another
value aborts the process. So evaluation stops at the first error, and
truthy values emitted before it still count. The real server (jaq) skips
the failing output and goes on, which differs only for programs that emit a
truthy value after an error, such as ``error("x"), true``.
"""

from .errors import InvalidQuery
from .sandbox import JqCompileError, JqLimitExceeded, JqPool


class PayloadFilter:
    """A jq predicate's text; compiled and run only in a ``JqPool``."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    @property
    def text(self) -> str:
        """The expression exactly as the client sent it."""
        return self._text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PayloadFilter):
            return NotImplemented
        return self._text == other._text

    def __hash__(self) -> int:
        return hash(self._text)

    def __repr__(self) -> str:
        text = self._text
        return f"PayloadFilter({text!r})"


async def matches(pool: JqPool, payload_filter: PayloadFilter, payloads: list) -> bytes:
    """A byte per payload (JSON bytes), 1 for a match.

    With no payloads this only compiles the filter. Raises ``InvalidQuery``
    (400) for a filter that does not compile or that overran a bound.
    """
    if "\0" in payload_filter.text:
        # libjq takes a C string, so it would silently compile only the
        # part before the NUL.
        raise InvalidQuery("invalid filter: filter must not contain null bytes")
    try:
        return await pool.matches(payload_filter.text, payloads)
    except JqCompileError as exc:
        raise InvalidQuery(f"invalid filter: {exc.detail}") from None
    except JqLimitExceeded as exc:
        raise InvalidQuery(f"filter exceeded {exc.limit}") from None
