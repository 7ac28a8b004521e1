"""Client messages of ``/events`` (ADMIN_AND_CLI.md 6.3), parsed or refused.

``parse`` returns a ``Subscribe``, ``SetDetail``, ``Delete`` or ``Find``,
or None for anything else: text that is not JSON, an unknown ``type``, a
field missing or of the wrong type (as the real server's serde types
refuse them: a limit or offset is a non-negative integer, a fallback one
of three words, ``query`` optional with string lists). The server ignores
what it cannot parse, so None is never an error reply.

Windows are capped at ``MAX_WINDOW_JOBS`` jobs whatever the limit asked:
the spec sets no maximum, but a message must fit the WebSocket layer's
1 MiB limit (a snapshot of three 1,000-job windows is ~500 KB).
"""

from typing import NamedTuple

import orjson

from queue_core import feed

MAX_WINDOW_JOBS = 1_000

# Tuples, not sets: membership by equality, so a list or an object where a
# name belongs is refused like any other wrong value.
_LISTS = feed.LIST_NAMES
_DIRECTIONS = (feed.FORWARD, feed.BACKWARD, feed.LOCATE)


class Subscribe(NamedTuple):
    list: str
    anchor: feed.Anchor
    limit: int


class SetDetail(NamedTuple):
    detail: bool


class Delete(NamedTuple):
    job_id: str


class Find(NamedTuple):
    list: str
    anchor: str  # START, END or JOB_ID
    job_id: str
    direction: str
    query: feed.Query
    limit: int


class _Invalid(Exception):
    pass


def parse(text):
    """The message ``text`` carries, or None."""
    try:
        message = orjson.loads(text)
        if not isinstance(message, dict):
            return None
        kind = message.get("type")
        parser = _PARSERS.get(kind) if isinstance(kind, str) else None
        return None if parser is None else parser(message)
    except (orjson.JSONDecodeError, _Invalid):
        return None


def _subscribe(message: dict) -> Subscribe:
    return Subscribe(
        _list(message), _anchor(_object(message, "anchor")), _limit(message)
    )


def _set_detail(message: dict) -> SetDetail:
    detail = message.get("detail")
    if not isinstance(detail, bool):
        raise _Invalid
    return SetDetail(detail)


def _delete(message: dict) -> Delete:
    return Delete(_string(message, "id"))


def _find(message: dict) -> Find:
    anchor = _object(message, "anchor")
    kind = anchor.get("kind")
    if kind not in (feed.START, feed.END, feed.JOB_ID):
        raise _Invalid
    job_id = _string(anchor, "id") if kind == feed.JOB_ID else ""
    direction = message.get("direction")
    if direction not in _DIRECTIONS:
        raise _Invalid
    return Find(
        _list(message), kind, job_id, direction, _query(message), _limit(message)
    )


_PARSERS = {
    "subscribe": _subscribe,
    "set_detail_level": _set_detail,
    "delete_job": _delete,
    "find": _find,
}


def _anchor(anchor: dict) -> feed.Anchor:
    kind = anchor.get("kind")
    if kind in (feed.HEAD, feed.TAIL):
        return feed.Anchor(kind)
    if kind == feed.OFFSET:
        return feed.Anchor(kind, offset=_count(anchor, "offset"))
    if kind == feed.AROUND:
        fallback = anchor.get("fallback", feed.NOWHERE)
        if fallback not in feed.FALLBACKS:
            raise _Invalid
        return feed.Anchor(kind, job_id=_string(anchor, "id"), fallback=fallback)
    raise _Invalid


def _query(message: dict) -> feed.Query:
    if "query" not in message:
        return feed.Query()
    query = _object(message, "query")
    return feed.Query(_strings(query, "queues"), _strings(query, "types"))


def _list(message: dict) -> str:
    name = message.get("list")
    if name not in _LISTS:
        raise _Invalid
    return name


def _limit(message: dict) -> int:
    return min(_count(message, "limit"), MAX_WINDOW_JOBS)


def _count(message: dict, name: str) -> int:
    value = message.get(name)
    if type(value) is not int or value < 0:
        raise _Invalid
    return value


def _string(message: dict, name: str) -> str:
    value = message.get(name)
    if not isinstance(value, str):
        raise _Invalid
    return value


def _strings(message: dict, name: str) -> tuple:
    values = message.get(name, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _Invalid
    return tuple(values)


def _object(message: dict, name: str) -> dict:
    value = message.get(name)
    if not isinstance(value, dict):
        raise _Invalid
    return value
