"""Modifying jobs (API.md 7.5): patch, delete, reset; single and bulk.

Bulk PATCH checks in the spec's order: ``Accept`` (the app), body decode,
query parse, terminal statuses (422), id format, body rules (422), and the
jq filter compile last.
"""

from queue_core import codec, filters

from ...runtime import runtime
from .. import serializers
from ..app import parse_body


async def patch_job(request):
    body_fmt, body = await request.decoded_body()
    patch = parse_body(body_fmt, serializers.decode_patch, body)
    serializers.validate_patch(patch)
    job = await runtime.store.patch(request.params[0], patch)
    return 200, codec.job_to_obj(job, False)


async def patch_jobs(request):
    body_fmt, body = await request.decoded_body()
    patch = parse_body(body_fmt, serializers.decode_patch, body)
    job_filter = filters.parse_job_filter(request.query, for_patch=True)
    serializers.validate_patch(patch)
    # The store compiles the jq filter before it changes anything.
    return 200, {"patched": await runtime.store.patch_matching(job_filter, patch)}


async def delete_job(request):
    await runtime.store.delete(request.params[0])
    return 204, None


async def delete_jobs(request):
    job_filter = filters.parse_job_filter(request.query)
    return 200, {"deleted": await runtime.store.delete_matching(job_filter)}


async def reset(request):
    await runtime.store.reset()
    return 204, None
