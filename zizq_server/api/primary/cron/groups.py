"""``/crons`` and ``/crons/{group}`` (API.md 7.6.4): list, wipe and the
group's get, idempotent put, pause and delete."""

from ....runtime import runtime
from ...app import parse_body
from . import bodies, check_licence, endpoint, render


@endpoint
async def list_groups(request):
    check_licence()
    return 200, {"crons": runtime.store.crons.names()}


@endpoint
async def delete_all(request):
    check_licence()
    return 200, {"deleted": await runtime.store.crons.delete_all()}


@endpoint
async def get_group(request):
    check_licence()
    return 200, render.sorted_group(runtime.store.crons.group(request.params[0]))


@endpoint
async def put_group(request):
    body_fmt, body = await request.decoded_body()
    paused, definitions = parse_body(body_fmt, bodies.decode_group, body)
    check_licence()
    name = request.params[0]
    await bodies.validate_group(name, definitions)
    group = await runtime.store.crons.put_group(name, paused, definitions)
    return 200, render.group(group, group.entries.values())


@endpoint
async def patch_group(request):
    body_fmt, body = await request.decoded_body()
    paused = parse_body(body_fmt, bodies.decode_paused, body)
    check_licence()
    group = await runtime.store.crons.patch_group(request.params[0], paused)
    return 200, render.sorted_group(group)


@endpoint
async def delete_group(request):
    check_licence()
    await runtime.store.crons.delete_group(request.params[0])
    return 204, None
