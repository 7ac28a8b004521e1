"""``POST /jobs`` and ``POST /jobs/bulk`` (API.md 7.2).

Bulk requests validate every job before anything is written, so a bad job
anywhere rejects the whole request; the writes of one request then land in
one batch, which makes the request atomic.
"""

from queue_core import codec

from ...runtime import runtime
from .. import fields, serializers
from ..app import parse_body
from ..negotiation import BodyError


async def enqueue_one(request):
    body_fmt, body = await request.decoded_body()
    job = parse_body(body_fmt, serializers.decode_job, body)
    serializers.validate_job(job)
    serializers.check_licence((job,))
    (created,) = await runtime.store.enqueue((job,))
    return 201, codec.enqueued_to_obj(created, False, False)


async def enqueue_bulk(request):
    body_fmt, body = await request.decoded_body()
    items = parse_body(body_fmt, _jobs_list, body)
    jobs = [
        parse_body(body_fmt, serializers.decode_job, item, f"jobs[{i}]: ")
        for i, item in enumerate(items)
    ]
    for i, job in enumerate(jobs):
        serializers.validate_job(job, f"jobs[{i}]: ")
    serializers.check_licence(jobs)
    created = await runtime.store.enqueue(jobs) if jobs else []
    return 201, {"jobs": [codec.enqueued_to_obj(j, False, False) for j in created]}


def _jobs_list(body) -> list:
    items = fields.required(fields.mapping(body), "jobs")
    if not isinstance(items, list):
        raise BodyError(
            f"jobs: invalid type: {fields.describe(items)}, expected a sequence"
        )
    return items
