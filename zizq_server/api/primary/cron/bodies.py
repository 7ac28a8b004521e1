"""Cron request bodies -> engine definitions, in the spec's check order.

Decoding (``decode_*``, run through ``parse_body``: 400 ``invalid JSON:
...``) checks only shapes and types and comes before the licence check;
validation (``validate_*``, after it) follows API.md 7.6.4's order: the
group name, duplicate entry names, then per entry its name and template
rules, then every expression, zone and batch. A template is an enqueue's
job parameters (decoded by ``serializers.decode_job``) without
``ready_at``; ``priority`` is filled in (32768) when it is decoded. A
template's batch is compiled and dry-run against its payload by the
engine's jq (``batch.check``), a 400 here where an enqueue's is a 422
(API.md 7.6.1).
"""

import orjson

from queue_core import cron, names
from queue_core.cron import EntryDefinition
from queue_core.errors import InvalidInput
from queue_core.store import batch
from queue_core.types import UNIQUE_SCOPES

from ....runtime import runtime
from ... import fields, serializers
from ...negotiation import BodyError


def decode_group(obj) -> tuple:
    """``(paused or None, [EntryDefinition...])`` of a ``PUT /crons/{group}``."""
    obj = fields.mapping(obj)
    entries = fields.required(obj, "entries")
    if not isinstance(entries, list):
        raise BodyError(
            f"entries: invalid type: {fields.describe(entries)}, expected a sequence"
        )
    return _paused(obj, required=False), [decode_entry(e) for e in entries]


def decode_entry(obj) -> EntryDefinition:
    obj = fields.mapping(obj)
    return EntryDefinition(
        name=fields.string(obj, "name"),
        expression=fields.string(obj, "expression"),
        timezone=fields.string(obj, "timezone", optional=True),
        paused=_paused(obj, required=False),
        job=serializers.decode_job(fields.required(obj, "job")),
    )


def decode_paused(obj) -> bool:
    """The ``{"paused": bool}`` of a ``PATCH`` (required)."""
    return _paused(fields.mapping(obj), required=True)


def _paused(obj: dict, required: bool):
    value = fields.required(obj, "paused") if required else obj.get("paused")
    if value is None and not required:
        return None
    if not isinstance(value, bool):
        raise BodyError(
            f"paused: invalid type: {fields.describe(value)}, expected a boolean"
        )
    return value


async def validate_group(name: str, definitions) -> None:
    cron.check_group_name(name)
    seen = set()
    for definition in definitions:
        if definition.name in seen:
            quoted = orjson.dumps(definition.name).decode()
            raise InvalidInput(f"duplicate cron entry name: {quoted}")
        seen.add(definition.name)
    for definition in definitions:
        _validate_rules(definition)
    for definition in definitions:
        await _validate_schedule(definition)


async def validate_entry(definition: EntryDefinition) -> None:
    _validate_rules(definition)
    await _validate_schedule(definition)


def _validate_rules(definition: EntryDefinition) -> None:
    cron.check_entry_name(definition.name)
    job = definition.job
    names.validate("type", job.type)
    names.validate("queue", job.queue)
    if job.ready_at is not None:
        raise InvalidInput("ready_at is not supported for cron entries")
    if job.unique_while is not None and job.unique_key is None:
        raise InvalidInput("unique_while requires unique_key")
    if job.unique_key is not None and job.batch is not None:
        raise InvalidInput("unique_key and batch cannot be combined")
    if job.unique_while is not None and job.unique_while not in UNIQUE_SCOPES:
        raise InvalidInput(
            f"invalid unique_while: {orjson.dumps(job.unique_while).decode()} "
            '(expected "queued", "active", or "exists")'
        )


async def _validate_schedule(definition: EntryDefinition) -> None:
    cron.check(definition.expression, definition.timezone)
    if definition.job.batch is not None:
        try:
            await batch.check(runtime.store, definition.job)
        except batch.Refused as exc:
            raise InvalidInput(exc.message) from None
