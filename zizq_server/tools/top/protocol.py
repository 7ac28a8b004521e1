"""The messages of ``GET /events`` as ``zizq top`` reads and writes them.

Everything a server sends is checked here before the app looks at it
(ADMIN_AND_CLI.md 6.3): a text frame holding a JSON object with a
``server`` object and an ``event`` name, and for the events the dashboard
acts on, JobWindows whose items are objects with an ``id``. Anything else
raises ``ProtocolError`` with a sentence the screen shows; a connection to
something that is not a Zizq server, or a server that sends one bad frame,
says so instead of crashing the dashboard. Events it does not know are
passed on and ignored, as a newer server's additions should be.

The client's messages are built by the functions at the bottom, one per
message type of the protocol.
"""

import json

LISTS = ("in_flight", "ready", "scheduled")
_TOTALS = ("total_ready", "total_in_flight", "total_scheduled")


class ProtocolError(Exception):
    """A message that is not what a Zizq server sends."""


def parse(frame) -> dict:
    """The checked message in one WebSocket frame."""
    if not isinstance(frame, str):
        raise ProtocolError("unexpected binary message from the server")
    try:
        message = json.loads(frame)
    except ValueError:
        raise ProtocolError("the server sent a message that is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("server"), dict):
        raise ProtocolError("not a Zizq server: a message without server status")
    if not isinstance(message.get("event"), str):
        raise ProtocolError("not a Zizq server: a message without an event name")
    _check_server(message["server"])
    event = message["event"]
    if event == "job_snapshot":
        for name in LISTS:
            _check_window(message.get(name), name)
    elif event == "job_changed":
        _check_change(message)
    elif event == "find_result":
        _check_find(message)
    return message


def _check_server(server: dict) -> None:
    for key in _TOTALS:
        if not _is_count(server.get(key)):
            raise ProtocolError(f"malformed server status: `{key}` is not a count")
    limit = server.get("subscription_limit")
    if limit is not None and not _is_count(limit):
        raise ProtocolError("malformed server status: `subscription_limit`")


def _check_window(window, name: str) -> None:
    if not isinstance(window, dict):
        raise ProtocolError(f"malformed job window `{name}`")
    items = window.get("items")
    if not isinstance(items, list) or not all(_is_job(item) for item in items):
        raise ProtocolError(f"malformed job window `{name}`: bad items")
    if not _is_count(window.get("first_position")) or not _is_count(
        window.get("total")
    ):
        raise ProtocolError(f"malformed job window `{name}`: bad positions")


def _check_change(message: dict) -> None:
    if not isinstance(message.get("id"), str) or not isinstance(
        message.get("status"), str
    ):
        raise ProtocolError("malformed job_changed: no id or status")
    if message["status"] in LISTS and not _is_job(message.get("job")):
        raise ProtocolError("malformed job_changed: bad job")


def _check_find(message: dict) -> None:
    if message.get("list") not in LISTS:
        raise ProtocolError("malformed find_result: unknown list")
    position = message.get("matched_position")
    if position is not None and not _is_count(position):
        raise ProtocolError("malformed find_result: bad position")
    _check_window(message.get("window"), "find_result")


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_job(item) -> bool:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return False
    return all(
        isinstance(item.get(key), int) and not isinstance(item.get(key), bool)
        for key in ("priority", "ready_at")
    )


def subscribe(name: str, anchor: dict, limit: int) -> str:
    return json.dumps(
        {"type": "subscribe", "list": name, "anchor": anchor, "limit": limit}
    )


def set_detail_level(detail: bool) -> str:
    return json.dumps({"type": "set_detail_level", "detail": detail})


def delete_job(job_id: str) -> str:
    return json.dumps({"type": "delete_job", "id": job_id})


def find(name: str, anchor: dict, direction: str, query: dict, limit: int) -> str:
    return json.dumps(
        {
            "type": "find",
            "list": name,
            "anchor": anchor,
            "direction": direction,
            "query": query,
            "limit": limit,
        }
    )
