"""``/crons/{group}/entries...`` (API.md 7.6.4): one entry's add, get, put,
pause and delete.

``PUT`` takes the entry's name from the path, which is not name-checked
(the body's ``name`` is required and checked, then ignored), as the real
server does, except for emptiness: ``PUT /crons/g/entries/`` would store
an entry under the group's own key (store.cron), so an empty path name is
refused as an empty body name is. Both ``POST`` and ``PUT`` create a
missing group, whose name they check.
"""

from queue_core import cron

from ....runtime import runtime
from ...app import parse_body
from . import bodies, check_licence, endpoint, render


@endpoint
async def add_entry(request):
    body_fmt, body = await request.decoded_body()
    definition = parse_body(body_fmt, bodies.decode_entry, body)
    check_licence()
    group = request.params[0]
    cron.check_group_name(group)
    await bodies.validate_entry(definition)
    return 201, render.entry(await runtime.store.crons.add_entry(group, definition))


@endpoint
async def get_entry(request):
    check_licence()
    group, name = request.params
    return 200, render.entry(runtime.store.crons.entry(group, name))


@endpoint
async def put_entry(request):
    body_fmt, body = await request.decoded_body()
    definition = parse_body(body_fmt, bodies.decode_entry, body)
    check_licence()
    group, name = request.params
    cron.check_group_name(group)
    if not name:
        cron.check_entry_name(name)
    await bodies.validate_entry(definition)
    entry = await runtime.store.crons.put_entry(group, name, definition)
    return 200, render.entry(entry)


@endpoint
async def patch_entry(request):
    body_fmt, body = await request.decoded_body()
    paused = parse_body(body_fmt, bodies.decode_paused, body)
    check_licence()
    group, name = request.params
    return 200, render.entry(await runtime.store.crons.patch_entry(group, name, paused))


@endpoint
async def delete_entry(request):
    check_licence()
    group, name = request.params
    await runtime.store.crons.delete_entry(group, name)
    return 204, None
