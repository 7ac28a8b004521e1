"""Typed payloads: a job whose one parameter is a dataclass, a TypedDict
or a pydantic-style model sends that object's JSON, checked at enqueue
and at dequeue (through the fake's real dispatcher, and by a real worker,
which kills a job whose payload does not match); and the JSON Schemas
``zizq-schema`` prints."""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict

import pytest
import zizq_client as zizq
from zizq_client import payloads
from zizq_client.worker.dispatch import failure_for

received = []


@dataclass
class Address:
    city: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Signup:
    user_id: int
    plan: Literal["free", "pro"]
    address: Address
    referrer: str | None = None


class Digest(TypedDict):
    user_id: int
    days: list[int]
    note: NotRequired[str]


@zizq.job(queue="typed", type="typed.signup", unique=zizq.Unique(key=("user_id",)))
def welcome(signup: Signup) -> None:
    received.append(signup)


@zizq.job(queue="typed", type="typed.digest")
async def digest(request: Digest) -> None:
    received.append(request)


@zizq.job(queue="typed", type="typed.plain")
def plain(user_id: int, *, template: str = "x", tags: tuple[str, ...] = ()) -> None:
    pass


SIGNUP = Signup(7, "pro", Address("Rome", ["Via Appia 1"]))
SIGNUP_JSON = {
    "user_id": 7,
    "plan": "pro",
    "address": {"city": "Rome", "lines": ["Via Appia 1"]},
    "referrer": None,
}


def test_a_dataclass_job_sends_the_object_as_json():
    params = welcome.params(SIGNUP)
    assert params["payload"] == SIGNUP_JSON
    assert params["unique_key"] == welcome.params(
        Signup(7, "free", Address("Oslo"))
    )["unique_key"]
    assert welcome.params(SIGNUP_JSON)["payload"] == SIGNUP_JSON


@pytest.mark.parametrize(
    "bad, message",
    [
        ({**SIGNUP_JSON, "user_id": "7"}, r"payload.user_id: expected integer"),
        ({**SIGNUP_JSON, "plan": "gold"}, r"payload.plan: 'gold' is not one of"),
        ({**SIGNUP_JSON, "extra": 1}, r"unknown field 'extra'"),
        ({"user_id": 7, "plan": "pro"}, r"missing field 'address'"),
        ({**SIGNUP_JSON, "address": {"city": "R", "lines": [1]}}, r"lines\[0\]"),
        ({**SIGNUP_JSON, "user_id": True}, r"expected integer"),
    ],
)
def test_a_payload_that_does_not_match_is_refused_at_enqueue(bad, message):
    with pytest.raises(zizq.PayloadInvalid, match=message):
        welcome.params(bad)


def test_typed_dict_payloads_are_checked_and_passed_as_dicts(zizq_jobs):
    received.clear()
    digest.enqueue({"user_id": 1, "days": [1, 2]})
    with pytest.raises(zizq.PayloadInvalid, match="missing field 'days'"):
        digest.enqueue({"user_id": 1})
    welcome.enqueue(SIGNUP)
    assert zizq_jobs.enqueued(welcome, SIGNUP)
    assert zizq_jobs.enqueued(welcome, user_id=7)
    assert not zizq_jobs.enqueued(welcome, user_id=8)
    zizq_jobs.drain()
    assert received == [{"user_id": 1, "days": [1, 2]}, SIGNUP]


def test_a_payload_that_does_not_match_at_dequeue_kills_the_job():
    with pytest.raises(zizq.PayloadInvalid) as caught:
        welcome.invoke({"user_id": 1})
    assert failure_for(caught.value, welcome)["kill"] is True


class Model:
    """A class speaking pydantic v2's protocol (pydantic is not installed
    here): what the client calls on a pydantic model."""

    def __init__(self, n: int) -> None:
        self.n = n

    @classmethod
    def model_validate(cls, value):
        if isinstance(value, cls):
            return value
        if not isinstance(value, dict) or not isinstance(value.get("n"), int):
            raise ValueError("n: Input should be a valid integer")
        return cls(value["n"])

    def model_dump(self, mode: str = "python") -> dict:
        return {"n": self.n}

    @classmethod
    def model_json_schema(cls) -> dict:
        return {"title": "Model", "type": "object"}


def test_pydantic_style_models_validate_dump_and_describe_themselves():
    @zizq.job(type="typed.model")
    def run(model: Model) -> int:
        return model.n

    assert run.params(Model(3))["payload"] == {"n": 3}
    assert run.invoke({"n": 4}) == 4
    with pytest.raises(zizq.PayloadInvalid, match="valid integer"):
        run.params({"n": "x"})
    assert run.schema() == {"title": "Model", "type": "object"}


def test_schemas_describe_typed_and_plain_payloads():
    assert welcome.schema() == {
        "title": "Signup",
        "type": "object",
        "properties": {
            "user_id": {"type": "integer"},
            "plan": {"enum": ["free", "pro"]},
            "address": {
                "title": "Address",
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "lines": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
            "referrer": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["address", "plan", "user_id"],
        "additionalProperties": False,
    }
    assert digest.schema()["required"] == ["days", "user_id"]
    assert plain.schema()["properties"] == {
        "args": {"type": "array", "prefixItems": [{"type": "integer"}]},
        "kwargs": {
            "type": "object",
            "properties": {
                "user_id": {"type": "integer"},
                "template": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": [],
        },
    }
    assert payloads.schema(dict[str, float]) == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }


def test_zizq_schema_prints_every_declared_job():
    printed = subprocess.run(
        [sys.executable, "-m", "zizq_client.schema", "tests.client.test_payloads"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    schemas = json.loads(printed.stdout)
    assert schemas["typed.signup"] == welcome.schema()
    assert schemas["typed.plain"] == plain.schema()
