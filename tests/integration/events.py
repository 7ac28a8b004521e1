"""A WebSocket client for ``GET /events`` (the ``websockets`` package).

``barrier()`` sends a ``find`` that matches nothing and returns every
message that came before its reply: a connection's messages leave in the
order they were made, and the changes an answered HTTP request made were
turned into messages before its answer left, so what arrives before the
reply is exactly what those changes produced. Heartbeats are left out
unless asked for.
"""

import json
import time

from websockets.sync.client import connect

QUIET_ID = "no-such-job"


class EventsClient:
    def __init__(self, server, **options) -> None:
        url = f"ws://127.0.0.1:{server.admin_port}/events"
        self._connection = connect(url, max_size=None, **options)
        self.ws = self._connection.__enter__()

    def close(self) -> None:
        self._connection.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, **message) -> None:
        self.ws.send(json.dumps(message))

    def recv(self, timeout: float = 10.0) -> dict:
        return json.loads(self.ws.recv(timeout))

    def next(self, timeout: float = 10.0) -> dict:
        """The next message that is not a heartbeat."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(max(0.01, deadline - time.monotonic()))
            if message["event"] != "heartbeat":
                return message

    def barrier(self, heartbeats: bool = False) -> list:
        self.send(
            type="find",
            list="ready",
            anchor={"kind": "job_id", "id": QUIET_ID},
            direction="locate",
            limit=1,
        )
        seen = []
        while True:
            message = self.recv()
            if message["event"] == "find_result" and message["matched_position"] is None:
                return seen
            if heartbeats or message["event"] != "heartbeat":
                seen.append(message)

    def subscribe(self, list_name: str, limit: int = 10, **anchor) -> dict:
        self.send(type="subscribe", list=list_name, anchor=anchor, limit=limit)
        return self.next()

    def find(self, list_name, anchor, direction, limit=10, **query) -> dict:
        self.send(
            type="find",
            list=list_name,
            anchor=anchor,
            direction=direction,
            query=query,
            limit=limit,
        )
        return self.next()


def changes(messages: list) -> list:
    """``(status, id)`` of each ``job_changed``."""
    return [(m["status"], m["id"]) for m in messages if m["event"] == "job_changed"]


def ids(window: dict) -> list:
    return [item["id"] for item in window["items"]]
