"""``GET /events``: the admin WebSocket feed ``zizq top`` watches (spec 6.3).

``EventsConsumer`` is a Channels WebSocket consumer, routed from the admin
listener's WebSocket table. On connect it joins the hub (``event_hub``),
which sends its first ``job_snapshot`` and from then on its diffs and
heartbeats; here are only the client's own messages: ``subscribe`` and
``set_detail_level`` (answered with a snapshot), ``delete_job`` (the same
store operation as ``DELETE /jobs/{id}``; what it changes reaches every
dashboard as usual, and nothing is answered) and ``find`` (answered with a
``find_result``). Messages that do not parse, and binary frames, are
ignored; pings are answered by the WebSocket layer and never get here.

``dispatch`` does not close Django database connections before each
message as the stock consumer does (a thread hop per message, DESIGN.md
section 2): nothing here touches Django's database.

A plain, non-upgrade ``GET /events`` is answered ``400`` with the real
server's text (its WebSocket layer's refusal), ``not_upgraded`` below.
"""

from functools import partial

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from queue_core import feed
from queue_core.errors import NotFound
from queue_core.store import records

from ...runtime import runtime
from ..app import send_response
from . import event_messages as messages
from .event_hub import hub, window_limit

_NOT_UPGRADED = b"Connection header did not include 'upgrade'"


class EventsConsumer(AsyncWebsocketConsumer):
    """One dashboard connection."""

    connection = None

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Disconnected, or cancelled at shutdown: leave the hub either way.
            if self.connection is not None:
                hub.leave(self.connection)
                self.connection = None

    async def connect(self):
        await self.accept()
        unsent = self.scope.get("extensions", {}).get("zizq.unsent_bytes")
        self.connection = await hub.join(self.base_send, unsent)

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None or self.connection is None:
            return
        message = messages.parse(text_data)
        if isinstance(message, messages.Subscribe):
            self._subscribe(message)
        elif isinstance(message, messages.SetDetail):
            self.connection.view.detail = message.detail
            self._snapshot()
        elif isinstance(message, messages.Delete):
            await _delete(message.job_id)
        elif isinstance(message, messages.Find):
            await self._find(message)

    def _subscribe(self, message: messages.Subscribe) -> None:
        limit = window_limit(message.limit)
        self.connection.view.subscribe(message.list, message.anchor, limit)
        self._snapshot()

    def _snapshot(self) -> None:
        view = self.connection.view
        self.connection.reply(lambda jobs: [view.snapshot(jobs)])

    async def _find(self, message: messages.Find) -> None:
        connection = self.connection
        job_list = connection.view.feed.lists[message.list]
        found = await feed.find(
            job_list,
            partial(records.load, runtime.store),  # not cached: a walk may be long
            message.anchor,
            message.job_id,
            message.direction,
            message.query,
            message.limit,
        )
        connection.reply(lambda jobs: [feed.find_result(message.list, found, jobs)])


async def _delete(job_id: str) -> None:
    try:
        await runtime.store.delete(job_id)
    except NotFound:
        pass  # gone already: as DELETE /jobs/{id} would say 404, nothing to do


async def not_upgraded(request, send):
    """A plain GET of the WebSocket path: refused as the real server does."""
    await request.body()
    return await send_response(send, 400, _NOT_UPGRADED, "text/plain; charset=utf-8")


not_upgraded.streaming = True
