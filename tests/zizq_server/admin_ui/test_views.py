"""Every admin view, action, permission and refusal, over a real store."""

import asyncio
import html
import re

from django.contrib.messages import get_messages
from django.test import Client

LIST = "/admin/jobs/job/"
ACTION = "/admin/jobs/job/action/"


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _ids(response):
    return [row["id"] for row in response.context["jobs"]]


def test_login_is_required_everywhere(live):
    client = Client()
    for url in ("/admin/", LIST, LIST + "x/", "/admin/throughput.json"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_dashboard_counts_per_queue_and_status_link_to_the_list(live, admin_client):
    live.enqueue("dash", 3)
    live.enqueue("dash", 2, ready_at=2**45)
    live.dead_job("dash")
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    row = response.context["overview"]["queues"]["dash"]
    counts = (row["ready"], row["scheduled"], row["dead"], row["in_flight"])
    assert counts == (3, 2, 1, 0)
    html = response.content.decode()
    assert 'href="/admin/jobs/job/?queue=dash&amp;status=dead">1</a>' in html
    assert "Connected workers" in html and "Licence tier" in html
    assert 'href="/admin/jobs/job/"' in html  # the Jobs entry of the app list


def test_throughput_json_counts_this_minute(live, admin_client):
    before = admin_client.get("/admin/throughput.json").json()["minutes"][-1]
    live.enqueue("rate", 4)
    data = admin_client.get("/admin/throughput.json").json()
    assert len(data["minutes"]) == 60
    assert data["minutes"][-1]["enqueued"] - before["enqueued"] >= 4
    assert "rate" in data["overview"]["queues"]


def test_list_filters_by_status_queue_type_and_priority(live, admin_client):
    live.enqueue("lf", 2, type="a", priority=5)
    (wanted,) = live.enqueue("lf", 1, type="b", priority=7)
    response = admin_client.get(LIST, {"queue": "lf", "type": "b", "priority": "6..8"})
    assert _ids(response) == [wanted.id]
    response = admin_client.get(LIST, {"queue": "lf", "status": ["ready"]})
    assert len(_ids(response)) == 3


def test_list_pages_by_cursor_both_ways_and_in_both_orders(live, admin_client):
    jobs = live.enqueue("pages", 120)
    ids = [job.id for job in jobs]
    first = admin_client.get(LIST, {"queue": "pages"})
    assert _ids(first) == ids[:50] and first.context["has_next"]
    assert not first.context["has_prev"]
    second = admin_client.get(LIST + first.context["next_query"])
    assert _ids(second) == ids[50:100]
    back = admin_client.get(LIST + second.context["prev_query"])
    assert _ids(back) == ids[:50] and not back.context["has_prev"]
    third = admin_client.get(LIST + second.context["next_query"])
    assert _ids(third) == ids[100:] and not third.context["has_next"]
    newest = admin_client.get(LIST, {"queue": "pages", "order": "desc"})
    assert _ids(newest) == ids[::-1][:50]


def test_jq_search_finds_payloads_and_shows_jq_errors(live, admin_client):
    (match,) = live.enqueue("jq", payload=b'{"user": 42}')
    live.enqueue("jq", payload=b'{"user": 7}')
    response = admin_client.get(LIST, {"queue": "jq", "filter": ".user == 42"})
    assert _ids(response) == [match.id]
    broken = admin_client.get(LIST, {"queue": "jq", "filter": ".user ==="})
    assert broken.status_code == 200
    (error,) = broken.context["form"].errors["filter"]
    assert error.startswith("invalid filter:")
    assert html.escape(error) in broken.content.decode()


def test_bad_filter_fields_are_form_errors(live, admin_client):
    response = admin_client.get(LIST, {"priority": "70000", "ready_from": "soon"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "invalid query parameters" in errors["priority"][0]
    assert "ready_from" in errors
    # No "all jobs matching this filter" for a filter that did not parse.
    assert 'name="select_across"' not in response.content.decode()
    malformed = admin_client.get(LIST, {"after": "not-an-id"})
    assert malformed.status_code == 200
    assert any("Not a job id" in m for m in _messages(malformed))


def test_job_page_shows_fields_payload_errors_and_settings(live, admin_client):
    job = live.dead_job("detail", message="SMTP timeout\nsecond line")
    response = admin_client.get(f"{LIST}{job.id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "SMTP timeout" in html and "at x.py:1" in html and "RuntimeError" in html
    rows = response.context["effective"]
    effective = {name: default for name, _value, default in rows}
    assert effective["Retry limit"] is True
    assert "(default)" in html
    assert response.context["payload"]["text"] == '{\n  "n": 1\n}'
    listed = admin_client.get(LIST, {"queue": "detail"})
    assert listed.context["jobs"][0]["last_error"] == "SMTP timeout"


def test_a_large_payload_is_collapsed_and_cut(live, admin_client):
    big = b'{"blob": "' + b"x" * 400_000 + b'"}'
    (job,) = live.enqueue("big", payload=big)
    response = admin_client.get(f"{LIST}{job.id}/")
    payload = response.context["payload"]
    assert payload["collapsed"] and payload["cut"]
    assert '<details  id="zizq-payload">' in response.content.decode()


def test_unknown_and_malformed_ids_are_messages_not_errors(live, admin_client):
    for job_id in ("03abcdefghijklmnopqrstuvw", "nope", "%00", "a/b"):
        response = admin_client.get(f"{LIST}{job_id}/", follow=True)
        assert response.status_code == 200
        assert any("job not found" in m for m in _messages(response))


def _post(client, **data):
    return client.post(ACTION, {"back": LIST, **data}, follow=True)


def test_actions_ask_for_confirmation_stating_the_number(live, admin_client):
    jobs = live.enqueue("confirm", 3)
    response = admin_client.post(
        ACTION, {"action": "delete", "ids": [j.id for j in jobs[:2]], "back": LIST}
    )
    assert response.status_code == 200
    assert "2 jobs" in response.content.decode()
    assert len(_ids(admin_client.get(LIST, {"queue": "confirm"}))) == 3
    across = admin_client.post(
        ACTION, {"action": "delete", "select_across": "on", "query": "queue=confirm"}
    )
    text = across.content.decode()
    assert "3 jobs" in text and "matching this filter" in text


def test_delete_and_change_one_and_a_selection(live, admin_client):
    a, b, c = live.enqueue("act", 3)
    done = _post(admin_client, action="delete", ids=[a.id, b.id], confirmed="yes")
    assert "Deleted 2 jobs." in _messages(done)
    _post(admin_client, action="priority", ids=[c.id], priority="9", confirmed="yes")
    _post(admin_client, action="move", ids=[c.id], queue="act2", confirmed="yes")
    job = live.store.get(c.id)
    assert (job.priority, job.queue) == (9, "act2")
    later = {"ready_at": "2100-01-01 00:00"}
    _post(admin_client, action="reschedule", ids=[c.id], confirmed="yes", **later)
    assert live.store.get(c.id).status_name == "scheduled"
    _post(admin_client, action="retry_now", ids=[c.id], confirmed="yes")
    assert live.store.get(c.id).status_name == "ready"


def test_retry_now_revives_a_dead_job_for_a_waiting_worker(live, admin_client):
    dead = live.dead_job("revive")
    taker = live.run(_open(live.store, "revive"))  # the store's, on its loop
    try:
        done = _post(admin_client, action="retry_now", ids=[dead.id], confirmed="yes")
        assert "Changed 1 job." in _messages(done)
        for _ in range(100):
            if taker.outbox:
                break
            live.run(asyncio.sleep(0.01))
        assert [job.id for job in taker.outbox] == [dead.id]
    finally:
        live.run(_close(live.store, taker))
    assert live.store.get(dead.id).status_name == "ready"
    assert live.store.get(dead.id).attempts == 1


def test_kill_sends_selected_jobs_or_a_whole_filter_to_dead(live, admin_client):
    ready, later = live.enqueue("kill", 1) + live.enqueue("kill", 1, ready_at=2**45)
    done = _post(admin_client, action="kill", ids=[ready.id, later.id], confirmed="yes")
    assert "Changed 2 jobs." in _messages(done)
    assert {live.store.get(j.id).status_name for j in (ready, later)} == {"dead"}
    again = _post(admin_client, action="kill", ids=[ready.id], confirmed="yes")
    assert any("cannot kill job" in m for m in _messages(again))
    waiting = live.enqueue("kill", 3) + live.enqueue("kill2", 1)
    across = _post(
        admin_client,
        action="kill",
        select_across="on",
        query="queue=kill",
        confirmed="yes",
    )
    assert "Changed 3 jobs." in _messages(across)  # the dead two are left alone
    statuses = [live.store.get(j.id).status_name for j in waiting]
    assert statuses == ["dead", "dead", "dead", "ready"]


def test_retry_now_on_a_filter_revives_its_dead_jobs(live, admin_client):
    dead = [live.dead_job("morgue") for _ in range(3)]
    later = live.enqueue("morgue", 1, ready_at=2**45)[0]
    done = _post(
        admin_client,
        action="retry_now",
        select_across="on",
        query="queue=morgue",
        confirmed="yes",
    )
    assert "Changed 4 jobs." in _messages(done)
    jobs = [live.store.get(j.id) for j in (*dead, later)]
    assert [job.status_name for job in jobs] == ["ready"] * 4
    assert [job.attempts for job in jobs] == [1, 1, 1, 0]


async def _open(store, queue):
    return store.open_taker([queue], 0, lambda: None)


async def _close(store, taker):
    store.close_taker(taker)


def test_all_matching_a_filter_goes_through_bulk_patch_and_delete(live, admin_client):
    live.enqueue("bulk", 4, type="x")
    live.enqueue("bulk", 2, type="y")
    changed = _post(
        admin_client,
        action="priority",
        select_across="on",
        query="queue=bulk&type=x",
        priority="3",
        confirmed="yes",
    )
    assert "Changed 4 jobs." in _messages(changed)
    deleted = _post(
        admin_client,
        action="delete",
        select_across="on",
        query="queue=bulk&priority=3",
        confirmed="yes",
    )
    assert "Deleted 4 jobs." in _messages(deleted)
    assert len(_ids(admin_client.get(LIST, {"queue": "bulk"}))) == 2


def test_bad_action_input_gets_the_apis_message(live, admin_client):
    (job,) = live.enqueue("bad")
    dead = live.dead_job("bad")
    cases = [
        ({"action": "priority", "ids": [job.id], "priority": "70000"}, "70000"),
        ({"action": "move", "ids": [job.id], "queue": "a,b"}, "must not contain ','"),
        ({"action": "priority", "ids": [dead.id], "priority": "1"}, "dead status"),
        ({"action": "delete", "ids": ["nope"]}, "job not found"),
        ({"action": "explode", "ids": [job.id]}, "Select a valid choice"),
        ({"action": "delete"}, "Select at least one job."),
        (
            {"action": "delete", "select_across": "on", "query": "filter=.a ==="},
            "invalid filter",
        ),
        ({"action": "priority", "ids": [job.id], "priority": "many"}, "whole number"),
    ]
    for data, expected in cases:
        response = _post(admin_client, confirmed="yes", **data)
        assert response.status_code == 200, data
        said = _messages(response)
        assert any(expected in message for message in said), (data, said)
    assert live.store.get(job.id).queue == "bad"


def test_a_view_only_user_sees_everything_and_changes_nothing(live, viewer_client):
    (job,) = live.enqueue("viewonly")
    assert viewer_client.get("/admin/").status_code == 200
    listed = viewer_client.get(LIST, {"queue": "viewonly"})
    assert _ids(listed) == [job.id]
    assert listed.context["actions"] == []
    assert 'name="action"' not in listed.content.decode()
    page = viewer_client.get(f"{LIST}{job.id}/")
    assert page.status_code == 200 and 'name="action"' not in page.content.decode()
    for action in ("delete", "priority", "retry_now"):
        response = viewer_client.post(
            ACTION,
            {"action": action, "ids": [job.id], "priority": "1", "confirmed": "yes"},
        )
        assert response.status_code == 403
    assert live.store.get(job.id).priority == job.priority


def test_a_user_without_permissions_sees_no_jobs(live):
    from django.contrib.auth.models import User

    user = User.objects.create_user("nobody", is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get(LIST).status_code == 403


def test_forms_without_a_csrf_token_are_refused(live):
    from django.contrib.auth.models import User

    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="root"))
    (job,) = live.enqueue("csrf")
    data = {"action": "delete", "ids": [job.id], "confirmed": "yes"}
    response = client.post(ACTION, data)
    assert response.status_code == 403
    assert live.store.get(job.id) is not None
    page = client.get(LIST, {"queue": "csrf"}).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(ACTION, {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and live.store.get(job.id) is None


def test_static_files_are_served_without_collectstatic(live):
    from django.contrib.staticfiles import finders

    assert finders.find("admin/css/base.css")
    assert finders.find("zizq_admin/dashboard.js")



def test_the_dashboard_lists_cron_entries_only_when_licensed(live, admin_client):
    from zizq_server.api.primary.cron import bodies
    from zizq_server.licence.verify import Licence
    from zizq_server.runtime import runtime

    assert admin_client.get("/admin/").context["crons"] is None  # free tier
    assert 'id="zizq-crons"' not in admin_client.get("/admin/").content.decode()
    paused, definitions = bodies.decode_group(
        {
            "entries": [
                {
                    "name": "nightly",
                    "expression": "0 3 * * *",
                    "job": {"type": "report", "queue": "cron", "payload": {}},
                }
            ]
        }
    )
    live.run(live.store.crons.put_group("reports", paused, definitions))
    runtime.licence.replace(Licence("id", "Acme", "pro", 2**40))
    try:
        response = admin_client.get("/admin/")
    finally:
        runtime.licence.replace(None)
    (group,) = response.context["crons"]
    (entry,) = group["entries"]
    assert (group["name"], entry["name"], entry["expression"]) == (
        "reports",
        "nightly",
        "0 3 * * *",
    )
    assert entry["next"]["relative"].startswith("in ")
    assert 'data-entry="reports/nightly"' in response.content.decode()
