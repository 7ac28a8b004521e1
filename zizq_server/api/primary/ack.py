"""Acks and nacks: ``POST /jobs/{id}/success``, ``/jobs/success``, ``/failure``.

An ack needs no body (any body is ignored). A nack's body is decoded before
the job is looked up, so a bad body is a 400 even for an unknown job.
"""

from queue_core import codec
from queue_core.errors import InvalidInput

from ...runtime import runtime
from .. import serializers
from ..app import parse_body


async def success(request):
    await runtime.store.complete(request.params[0])
    return 204, None


async def success_bulk(request):
    body_fmt, body = await request.decoded_body()
    ids = parse_body(body_fmt, serializers.decode_ids, body)
    if not ids:
        raise InvalidInput("ids must not be empty")
    not_found = await runtime.store.complete_many(ids)
    if not_found:
        return 422, {"not_found": not_found}
    return 204, None


async def failure(request):
    body_fmt, body = await request.decoded_body()
    failure = parse_body(body_fmt, serializers.decode_failure, body)
    job = await runtime.store.fail(request.params[0], failure)
    return 200, codec.job_to_obj(job, False)
