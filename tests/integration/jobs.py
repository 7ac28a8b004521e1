"""Small helpers the integration tests share: the clock and a checked enqueue."""

import time

HOUR = 3_600_000
PARAMS_ERROR = "invalid query parameters: "


def now_ms() -> int:
    return int(time.time() * 1000)


def put(client, queue="q", type="t", payload=None, **fields) -> dict:
    """Enqueue one job, assert the 201, return the response body."""
    body = {"queue": queue, "type": type, "payload": payload, **fields}
    r = client.post("/jobs", json=body)
    assert r.status_code == 201, r.text
    return r.json()
