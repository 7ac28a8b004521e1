"""``GET /events`` under a pro licence: uncapped windows (ADM-03, ADM-07).

The keys are minted by a test issuer the server is told to trust, as in
test_licence.py; a key expired within the load leeway loads but gates
nothing, so the live view is capped again while the tier stays ``pro``.
"""

import time

import pytest

from tests.zizq_server.licence.keys import Issuer

from .events import EventsClient, ids


@pytest.fixture(scope="module")
def issuer():
    return Issuer()


def _server(make_server, issuer, tmp_path, seconds_left):
    public_key = issuer.write_public_key(tmp_path / "issuer.pem")
    token = issuer.token(exp=int(time.time()) + seconds_left)
    return make_server("-k", token, "--license-public-key", public_key)


def _bulk(client, count):
    jobs = [{"queue": "q", "type": "t", "payload": None} for _ in range(count)]
    r = client.post("/jobs/bulk", json={"jobs": jobs})
    assert r.status_code == 201
    return [job["id"] for job in r.json()["jobs"]]


def test_licensed_windows_start_at_200_and_take_any_limit(make_server, issuer, tmp_path):
    server = _server(make_server, issuer, tmp_path, 86_400)
    with server.client() as client:
        order = _bulk(client, 250)
    with EventsClient(server) as ws:
        snapshot = ws.next()
        assert snapshot["server"]["tier"] == "pro"
        assert "subscription_limit" not in snapshot["server"]
        assert ids(snapshot["ready"]) == order[:200]
        tail = ws.subscribe("ready", limit=5, kind="tail")["ready"]
        assert (ids(tail), tail["first_position"], tail["total"]) == (order[-5:], 245, 250)
        centred = ws.subscribe("ready", limit=50, kind="around", id=order[100])["ready"]
        assert centred["first_position"] == 75 and len(centred["items"]) == 50


def test_an_expired_licence_caps_the_view_but_keeps_its_tier(make_server, issuer, tmp_path):
    server = _server(make_server, issuer, tmp_path, -30)
    with server.client() as client:
        _bulk(client, 30)
    with EventsClient(server) as ws:
        snapshot = ws.next()
        assert snapshot["server"]["tier"] == "pro"
        assert snapshot["server"]["subscription_limit"] == 10
        assert len(ws.subscribe("ready", limit=5, kind="tail")["ready"]["items"]) == 10
