"""Request bodies -> engine requests, with the spec's validation order.

``parse_job`` turns one decoded job-parameters object into an
``EnqueueRequest``: decoding checks (400 ``invalid JSON: ...``) first, then
the name rules, then the pro-feature rules (API.md 7.2.1). The payload is
re-serialised to compact JSON bytes, which is also where MessagePack binary
or ext values are refused: a payload must be a JSON value.

The pro-feature rules ask the licence in force (``runtime.licence``) at
the time of the request. A single job's ``unique_while`` value is checked
after the licence, a bulk job's before it (API.md 7.2.1, 7.2.3). A
batched job's expressions are checked by the engine (its 422s).
"""

import orjson

from queue_core import names
from queue_core.defaults import DEFAULT_PRIORITY
from queue_core.errors import Forbidden, InvalidInput, Unprocessable
from queue_core.options import EnqueueRequest, FailureRequest
from queue_core.store.patch import UNSET, PatchRequest
from queue_core.types import UNIQUE_SCOPES, Backoff, Batch, Retention

from ..licence import BATCHED_JOBS, UNIQUE_JOBS
from ..runtime import runtime
from . import fields
from .fields import U16, U32, U64
from .negotiation import BodyError


def payload_bytes(value) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        raise BodyError(f"payload: not a JSON value ({exc})") from None


def decode_job(obj) -> EnqueueRequest:
    """Decode one job-parameters object (body-format errors only)."""
    obj = fields.mapping(obj)
    payload = payload_bytes(fields.required(obj, "payload"))
    return EnqueueRequest(
        type=fields.string(obj, "type"),
        queue=fields.string(obj, "queue"),
        payload=payload,
        priority=_priority(obj),
        ready_at=fields.integer(obj, "ready_at", U64, optional=True),
        retry_limit=fields.integer(obj, "retry_limit", U32, optional=True),
        backoff=decode_backoff(obj.get("backoff")),
        retention=_retention(obj.get("retention")),
        unique_key=fields.string(obj, "unique_key", optional=True),
        unique_while=fields.string(obj, "unique_while", optional=True),
        batch=_batch(obj.get("batch")),
    )


def _priority(obj) -> int:
    value = fields.integer(obj, "priority", U16, optional=True)
    return DEFAULT_PRIORITY if value is None else value


def decode_backoff(value):
    if value is None:
        return None
    obj = fields.mapping(value)
    return Backoff(
        fields.number(obj, "exponent"),
        fields.integer(obj, "base_ms", U32),
        fields.integer(obj, "jitter_ms", U32),
    )


def _retention(value):
    if value is None:
        return None
    obj = fields.mapping(value)
    return Retention(
        fields.integer(obj, "completed_ms", U64, optional=True),
        fields.integer(obj, "dead_ms", U64, optional=True),
    )


def _batch(value):
    if value is None:
        return None
    obj = fields.mapping(value)
    return Batch(
        fields.string(obj, "key"),
        fields.string(obj, "when"),
        fields.string(obj, "fold"),
    )


def validate_job(job: EnqueueRequest, prefix: str = "", scope: bool = False) -> None:
    """Name and combination rules, in the spec's order (400s); ``scope``
    checks the ``unique_while`` value too, where a bulk job's order has it."""
    try:
        names.validate("type", job.type)
        names.validate("queue", job.queue)
    except InvalidInput as exc:
        raise InvalidInput(prefix + exc.message) from None
    if job.unique_while is not None and job.unique_key is None:
        raise InvalidInput(prefix + "unique_while requires unique_key")
    if scope:
        validate_scope(job, prefix)
    if job.unique_key is not None and job.batch is not None:
        raise InvalidInput(prefix + "unique_key and batch cannot be combined")


def validate_scope(job: EnqueueRequest, prefix: str = "") -> None:
    """``unique_while`` is one of the three scopes (400)."""
    value = job.unique_while
    if value is not None and value not in UNIQUE_SCOPES:
        raise InvalidInput(
            f"{prefix}invalid unique_while: {orjson.dumps(value).decode()} "
            '(expected "queued", "active", or "exists")'
        )


def check_licence(jobs) -> None:
    """Unique and batched jobs are pro features (403 without a live licence)."""
    used = _pro_features(jobs)
    for feature in used:
        refusal = runtime.licence.refusal(feature)
        if refusal is not None:
            raise Forbidden(refusal)


def check_unique_licence() -> None:
    """``check_licence`` for plain jobs, whose one pro option is a unique key."""
    refusal = runtime.licence.refusal(UNIQUE_JOBS)
    if refusal is not None:
        raise Forbidden(refusal)


def _pro_features(jobs) -> list:
    used = []
    if any(job.unique_key is not None for job in jobs):
        used.append(UNIQUE_JOBS)
    if any(job.batch is not None for job in jobs):
        used.append(BATCHED_JOBS)
    return used


def decode_failure(obj) -> FailureRequest:
    obj = fields.mapping(obj)
    return FailureRequest(
        message=fields.string(obj, "message"),
        error_type=fields.string(obj, "error_type", optional=True),
        backtrace=fields.string(obj, "backtrace", optional=True),
        retry_at=fields.integer(obj, "retry_at", U64, optional=True),
        kill=fields.boolean(obj, "kill", False),
    )


def decode_ids(obj) -> list:
    obj = fields.mapping(obj)
    ids = fields.required(obj, "ids")
    if not isinstance(ids, list):
        raise BodyError(f"ids: invalid type: {fields.describe(ids)}, expected a sequence")
    for value in ids:
        if not isinstance(value, str):
            raise BodyError(
                f"ids: invalid type: {fields.describe(value)}, expected a string"
            )
    return ids


def _optional(obj: dict, name: str, decode):
    """UNSET when absent, None when null, else the decoded value."""
    if name not in obj:
        return UNSET
    value = obj[name]
    return None if value is None else decode(value)


def decode_patch(obj) -> PatchRequest:
    """Decode a patch body (400s); null queue/priority pass to ``validate_patch``."""
    obj = fields.mapping(obj)
    return PatchRequest(
        queue=_optional(obj, "queue", lambda v: fields.string({"queue": v}, "queue")),
        priority=_optional(obj, "priority", lambda v: fields.check_int(v, "priority", U16)),
        ready_at=_optional(obj, "ready_at", lambda v: fields.check_int(v, "ready_at", U64)),
        retry_limit=_optional(
            obj, "retry_limit", lambda v: fields.check_int(v, "retry_limit", U32)
        ),
        backoff=_optional(obj, "backoff", decode_backoff),
        retention=_optional(obj, "retention", _retention_patch),
    )


def _retention_patch(value) -> dict:
    obj = fields.mapping(value)
    merged = {}
    for name in ("completed_ms", "dead_ms"):
        if name in obj:
            merged[name] = fields.integer(obj, name, U64, optional=True)
    return merged


def validate_patch(patch: PatchRequest) -> None:
    """The 422 rules of a patch body (API.md 7.5.1)."""
    if patch.queue is None:
        raise Unprocessable("queue cannot be null")
    if patch.priority is None:
        raise Unprocessable("priority cannot be null")
    if patch.queue is not UNSET:
        message = names.problem("queue", patch.queue)
        if message is not None:
            raise Unprocessable(message)
