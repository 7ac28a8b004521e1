"""The query language of the job endpoints: parsing and pagination links.

Owns the shared filters of ``GET /jobs``, ``GET /jobs/count``, ``PATCH /jobs``
and ``DELETE /jobs`` (spec API.md 7.4.1), the paging options of ``GET /jobs``
and ``GET /jobs/{id}/errors``, and the links those two answer with (7.4.3,
7.4.6). Everything here is pure: the store reads ``JobFilter`` fields, the
HTTP adapter maps the raised errors to statuses.

Parsing follows the real server, which deserialises the query string into a
strict struct. Pairs are read in query order, each value parsed as it is
met, so the first unknown, repeated or unparsable parameter is the one
reported, as ``invalid query parameters: <detail>`` in serde's wording.
Checks that need the whole query run afterwards, in each handler's order:

* ``GET /jobs``: parameters, ``limit`` bounds, id format, filter compile.
* ``GET /jobs/count``, ``DELETE /jobs``: parameters, id format, filter compile.
* ``PATCH /jobs``: parameters, terminal statuses (422), id format, then the
  caller's body checks, then filter compile.
* ``GET /jobs/{id}/errors``: parameters, ``limit`` bounds.

The jq ``filter`` is compiled last in every case because it is compiled by
the store, in its jq pool, as the first step of the operation the parsed
filter is handed to (``queue_core.payload_filter``); parsing only keeps its
text.

Links are rendered from parsed values, never echoed from the request, so
they come out normalised: lists de-duplicated and sorted, ranges in their
shortest form, defaults filled in. Only ``filter`` is percent-encoded; the
spec writes every other value raw, as the real server does.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import quote, unquote_to_bytes

from .defaults import (
    DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT,
    MAX_PRIORITY,
    MAX_U32,
    MAX_U64,
)
from .errors import InvalidQuery, Unprocessable
from .ids import is_valid_id
from .payload_filter import PayloadFilter
from .types import COMPLETED, DEAD, STATUS_CODES, STATUS_NAMES

# Wire names in lifecycle order; a status code indexes this tuple.
STATUSES = STATUS_NAMES
ASC = "asc"
DESC = "desc"

_PARAMS_PREFIX = "invalid query parameters: "
# Rust's Debug names, which the real server prints in this message.
_UNPATCHABLE = ((COMPLETED, "Completed"), (DEAD, "Dead"))


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive range of unsigned integers, ``lo <= hi``."""

    lo: int
    hi: int

    def contains(self, value: int) -> bool:
        return self.lo <= value <= self.hi

    def render(self, maximum: int) -> str:
        """The shortest spelling; ``maximum`` is the field type's maximum."""
        lo, hi = self.lo, self.hi
        # The order of the tests is the spec's: 0..0 is "0", 0..max "..max".
        if lo == hi:
            return str(lo)
        if lo == 0:
            return f"..{hi}"
        if hi == maximum:
            return f"{lo}.."
        return f"{lo}..{hi}"


@dataclass(frozen=True, slots=True)
class JobFilter:
    """The shared filters, ANDed; values inside one set are ORed.

    ``None`` (or an empty set) means "no filter on this field". ``statuses``
    holds status codes (``queue_core.types.READY`` ...), which are what a
    ``Job`` stores. A full range such as ``priority=..`` stays a ``Range``
    so that links render it back.
    """

    ids: frozenset[str] | None = None
    queues: frozenset[str] | None = None
    types: frozenset[str] | None = None
    statuses: frozenset[int] | None = None
    priority: Range | None = None
    ready_at: Range | None = None
    attempts: Range | None = None
    payload: PayloadFilter | None = None

    def is_empty(self) -> bool:
        """True when no field is filtered (a full range such as ``..`` is)."""
        sets = (self.ids, self.queues, self.types, self.statuses)
        others = (self.priority, self.ready_at, self.attempts, self.payload)
        return not any(sets) and all(value is None for value in others)

    def matches_meta(self, job) -> bool:
        """Every test but the payload one, which runs in the store's jq pool."""
        return (
            (not self.ids or job.id in self.ids)
            and (not self.queues or job.queue in self.queues)
            and (not self.types or job.type in self.types)
            and (not self.statuses or job.status in self.statuses)
            and (self.priority is None or self.priority.contains(job.priority))
            and (self.ready_at is None or self.ready_at.contains(job.ready_at))
            and (self.attempts is None or self.attempts.contains(job.attempts))
        )


@dataclass(frozen=True, slots=True)
class ListOptions:
    """Paging of ``GET /jobs``; ``from_id`` is None only when absent."""

    order: str = ASC
    limit: int = DEFAULT_LIST_LIMIT
    from_id: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorListOptions:
    """Paging of ``GET /jobs/{id}/errors``; the cursor is an attempt number."""

    order: str = ASC
    limit: int = DEFAULT_LIST_LIMIT
    from_attempt: int | None = None


def opposite(order: str) -> str:
    return DESC if order == ASC else ASC


# --- Parsing ---------------------------------------------------------------


def _invalid(detail: str) -> InvalidQuery:
    return InvalidQuery(_PARAMS_PREFIX + detail)


def _parse_uint(text: str, maximum: int, saturate: bool = False) -> int:
    """Parse like Rust's ``str::parse`` for unsigned types, with its errors.

    A leading ``+`` is allowed; the first bad digit or the first digit that
    overflows, scanning left to right, decides the error. With ``saturate``
    a value above ``maximum`` comes back as ``maximum + 1`` instead, for the
    caller to refuse in its own words.
    """
    digits = text[1:] if text.startswith("+") and len(text) > 1 else text
    if not digits:
        raise _invalid("cannot parse integer from empty string")
    value = 0
    for char in digits:
        if not "0" <= char <= "9":
            raise _invalid("invalid digit found in string")
        value = value * 10 + ord(char) - 48
        if value > maximum:
            if not saturate:
                raise _invalid("number too large to fit in target type")
            value = maximum + 1
    return value


def parse_range(text: str, maximum: int) -> Range | None:
    """``N``, ``A..B``, ``..B``, ``A..`` or ``..``; empty text is no filter."""
    if not text:
        return None
    lo_text, dots, hi_text = text.partition("..")
    if not dots:
        value = _parse_uint(text, maximum)
        return Range(value, value)
    lo = _parse_uint(lo_text, maximum) if lo_text else 0
    hi = _parse_uint(hi_text, maximum) if hi_text else maximum
    if lo > hi:
        raise _invalid("range lower bound exceeds upper bound")
    return Range(lo, hi)


def _parse_list(text: str) -> tuple[str, ...] | None:
    """Comma items in query order (ids are checked in that order later)."""
    return tuple(item for item in text.split(",") if item) or None


def _parse_statuses(text: str) -> frozenset[int] | None:
    codes = set()
    for name in text.split(","):
        if name:
            if name not in STATUS_CODES:
                raise _invalid(f"unknown status: {name}")
            codes.add(STATUS_CODES[name])
    return frozenset(codes) or None


def _parse_order(text: str) -> str:
    if text not in (ASC, DESC):
        raise _invalid(f"unknown variant `{text}`, expected `asc` or `desc`")
    return text


_parse_priority = partial(parse_range, maximum=MAX_PRIORITY)
_parse_ready_at = partial(parse_range, maximum=MAX_U64)
_parse_attempts = partial(parse_range, maximum=MAX_U32)
# The real server reads a u16, so above 65535 it reports an overflow; the
# spec gives every number outside 1..2000 the bounds message, as here.
_parse_limit = partial(_parse_uint, maximum=MAX_LIST_LIMIT, saturate=True)
_parse_attempt = partial(_parse_uint, maximum=MAX_U32)

# Parsers by parameter, in the real server's declaration order, which its
# "unknown field" message lists. ``str`` keeps a value as it is.
_SHARED_FIELDS: dict[str, Callable] = {
    "id": _parse_list,
    "status": _parse_statuses,
    "queue": _parse_list,
    "type": _parse_list,
    "priority": _parse_priority,
    "ready_at": _parse_ready_at,
    "attempts": _parse_attempts,
    "filter": str,
}
_LIST_FIELDS: dict[str, Callable] = {
    "from": str,
    "order": _parse_order,
    "limit": _parse_limit,
    "status": _parse_statuses,
    "queue": _parse_list,
    "type": _parse_list,
    "id": _parse_list,
    "priority": _parse_priority,
    "ready_at": _parse_ready_at,
    "attempts": _parse_attempts,
    "filter": str,
}
_ERROR_FIELDS: dict[str, Callable] = {
    "from": _parse_attempt,
    "order": _parse_order,
    "limit": _parse_limit,
}


def _decode(raw: bytes) -> str:
    """Form decoding, as browsers, httpx and curl encode: ``+`` is a space."""
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def _read_params(query: bytes | str, fields: dict[str, Callable]) -> dict:
    if isinstance(query, str):
        query = query.encode()
    params = {}
    for pair in query.split(b"&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition(b"=")
        key = _decode(raw_key)
        parse = fields.get(key)
        if parse is None:
            expected = ", ".join(f"`{name}`" for name in fields)
            raise _invalid(f"unknown field `{key}`, expected one of {expected}")
        if key in params:
            raise _invalid(f"duplicate field `{key}`")
        params[key] = parse(_decode(raw_value))
    return params


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIST_LIMIT}")
    return limit


def _check_patchable(statuses: frozenset[int] | None) -> None:
    for code, name in _UNPATCHABLE:
        if statuses and code in statuses:
            raise Unprocessable(f"cannot patch jobs in {name} status")


def _check_ids(ids: tuple[str, ...] | None) -> None:
    for job_id in ids or ():
        if not is_valid_id(job_id):
            quoted = json.dumps(job_id, ensure_ascii=False)
            raise InvalidQuery(f"invalid job ID: {quoted}")


def _frozen(items: tuple[str, ...] | None) -> frozenset[str] | None:
    return frozenset(items) if items else None


def _job_filter(params: dict, for_patch: bool) -> JobFilter:
    if for_patch:
        _check_patchable(params.get("status"))
    _check_ids(params.get("id"))
    expression = params.get("filter")
    return JobFilter(
        ids=_frozen(params.get("id")),
        queues=_frozen(params.get("queue")),
        types=_frozen(params.get("type")),
        statuses=params.get("status"),
        priority=params.get("priority"),
        ready_at=params.get("ready_at"),
        attempts=params.get("attempts"),
        payload=None if expression is None else PayloadFilter(expression),
    )


def parse_job_filter(query: bytes | str, *, for_patch: bool = False) -> JobFilter:
    """The filters of count, bulk delete and bulk patch.

    Raises, in this order: ``invalid query parameters: ...`` (400); with
    ``for_patch``, ``cannot patch jobs in Completed status`` or ``... Dead
    status`` (422, Completed first when both are asked for); ``invalid job
    ID: "<v>"`` (400, the first bad id in query order). The jq filter is
    compiled by the store.
    """
    return _job_filter(_read_params(query, _SHARED_FIELDS), for_patch)


def parse_list_query(query: bytes | str) -> tuple[JobFilter, ListOptions]:
    """``GET /jobs``: parameters, limit bounds, id format."""
    params = _read_params(query, _LIST_FIELDS)
    options = ListOptions(
        params.get("order", ASC),
        _check_limit(params.get("limit", DEFAULT_LIST_LIMIT)),
        params.get("from"),
    )
    return _job_filter(params, for_patch=False), options


def parse_error_list_query(query: bytes | str) -> ErrorListOptions:
    """``GET /jobs/{id}/errors``: parameters, then limit bounds."""
    params = _read_params(query, _ERROR_FIELDS)
    return ErrorListOptions(
        params.get("order", ASC),
        _check_limit(params.get("limit", DEFAULT_LIST_LIMIT)),
        params.get("from"),
    )


# --- Links -----------------------------------------------------------------


def _filter_parts(job_filter: JobFilter):
    """``name=value`` pieces in the spec's fixed order, each only when set."""
    if job_filter.statuses:
        names = (STATUSES[code] for code in sorted(job_filter.statuses))
        yield "status=" + ",".join(names)
    # Sorting str sorts by code point, which is UTF-8 byte order.
    for name, values in (
        ("queue", job_filter.queues),
        ("type", job_filter.types),
        ("id", job_filter.ids),
    ):
        if values:
            yield name + "=" + ",".join(sorted(values))
    for name, value, maximum in (
        ("priority", job_filter.priority, MAX_PRIORITY),
        ("ready_at", job_filter.ready_at, MAX_U64),
        ("attempts", job_filter.attempts, MAX_U32),
    ):
        if value is not None:
            yield name + "=" + value.render(maximum)
    if job_filter.payload is not None:
        # quote() keeps exactly A-Z a-z 0-9 - _ . ~ when nothing else is safe.
        yield "filter=" + quote(job_filter.payload.text, safe="")


def render_list_link(
    job_filter: JobFilter, order: str, limit: int, from_id: str | None = None
) -> str:
    """``/jobs?[from=..&]order=..&limit=..[&status=..]...[&filter=..]``."""
    parts = [] if from_id is None else ["from=" + from_id]
    parts += ["order=" + order, f"limit={limit}", *_filter_parts(job_filter)]
    return "/jobs?" + "&".join(parts)


def render_error_link(
    job_id: str, order: str, limit: int, from_attempt: int | None = None
) -> str:
    """``/jobs/<id>/errors?[from=<attempt>&]order=<o>&limit=<n>``."""
    cursor = "" if from_attempt is None else f"from={from_attempt}&"
    return f"/jobs/{job_id}/errors?{cursor}order={order}&limit={limit}"


def _pages(link: Callable, order: str, cursor, first, last, has_more: bool) -> dict:
    """The ``pages`` object; ``first``/``last`` are None for an empty page."""
    has_prev = cursor is not None and first is not None
    return {
        "self": link(order, cursor),
        "next": link(order, last) if has_more else None,
        "prev": link(opposite(order), first) if has_prev else None,
    }


def render_page_links(
    job_filter: JobFilter,
    options: ListOptions,
    first_id: str | None,
    last_id: str | None,
    has_more: bool,
) -> dict:
    """``{"self", "next", "prev"}`` for a ``GET /jobs`` page.

    ``next`` iff more rows follow (cursor: the last id, same order); ``prev``
    iff the request had a cursor and the page has rows (cursor: the first
    id, opposite order); ``self`` repeats the request with its cursor.
    """

    def link(order: str, cursor: str | None) -> str:
        return render_list_link(job_filter, order, options.limit, cursor)

    return _pages(link, options.order, options.from_id, first_id, last_id, has_more)


def render_error_page_links(
    job_id: str,
    options: ErrorListOptions,
    first_attempt: int | None,
    last_attempt: int | None,
    has_more: bool,
) -> dict:
    """As ``render_page_links`` for ``GET /jobs/{id}/errors`` pages."""

    def link(order: str, cursor: int | None) -> str:
        return render_error_link(job_id, order, options.limit, cursor)

    cursor = options.from_attempt
    return _pages(link, options.order, cursor, first_attempt, last_attempt, has_more)
