"""Batched jobs (pro, API.md 7.2.5) declared with ``zizq.Batch`` against a
real licensed server: enqueues of one key fold into the ready job while
``when`` holds, and a key may be computed from the payload."""

from typing import TypedDict

import pytest
import zizq_client as zizq

pytestmark = pytest.mark.slow


class Push(TypedDict):
    platform: str
    device_ids: list[str]


@zizq.job(
    queue="push",
    type="client_tests.push",
    batch=zizq.Batch(
        key=lambda payload: f"push:{payload['platform']}",
        when="(($existing | .device_ids) + ($new | .device_ids)) | length <= 3",
        fold="$existing | .device_ids += ($new | .device_ids)",
    ),
)
def push(request: Push) -> None:
    pass


def test_enqueues_of_one_key_fold_while_when_holds(pro_client):
    job = push.using(client=pro_client)
    first = job.enqueue({"platform": "apple", "device_ids": ["a"]})
    folded = job.enqueue({"platform": "apple", "device_ids": ["b", "c"]})
    other = job.enqueue({"platform": "android", "device_ids": ["x"]})
    sealed = job.enqueue({"platform": "apple", "device_ids": ["d"]})
    assert (first.folded, folded.folded, other.folded) == (False, True, False)
    assert folded.id == first.id and sealed.id != first.id
    assert first.batch["key"] == "push:apple"
    assert pro_client.get(first.id).payload["device_ids"] == ["a", "b", "c"]
    assert pro_client.count(queue="push") == 3
