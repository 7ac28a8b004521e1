"""The ``/events`` connections of the server: their feed, heartbeats, pacing.

The hub attaches the store's feed (``queue_core.feed``) when the first
connection joins and detaches it when the last one leaves, so a server
nobody watches keeps no dashboard lists. The feed is built a slice per
loop turn; connections that join meanwhile wait for it, and the job
traffic is served. It subscribes once to the feed;
for each turn it builds the ``server`` envelope once and gives every
connection its view's changes, and every ``ADMIN_HEARTBEAT_INTERVAL_MS`` a
heartbeat (ADMIN_AND_CLI.md 6.3).

A connection's messages are computed synchronously (at the end of the turn,
or when its own request is handled) and queued in its outbox, which one
writer task sends in order: whatever ``send`` awaits, a snapshot and the
diffs computed after it can never swap places.

Daphne has no backpressure: a client that stops reading grows its
transport's buffer for good. So each connection asks its transport how
many bytes wait unsent (the ``zizq.unsent_bytes`` scope extension the
server's listener adds), plus what its outbox holds. Past ``BEHIND_BYTES``
(checked as each message is queued, so a turn of thousands of events is cut
off too) its outbox is dropped, it is sent nothing more and its views stop
being diffed; once the backlog is under ``CAUGHT_UP_BYTES`` again (looked
at on each turn and heartbeat) it is sent one fresh snapshot of its
windows, the spec's snapshot "after the server detects it missed events".
A stuck client therefore holds about ``BEHIND_BYTES``, and costs the job
traffic one look per turn.

Every connection is sent a turn's ack/nack markers, and dashboards with
the same windows the same changes: each such event is encoded once per
turn for all of them (``Encoder``).
"""

import asyncio
import logging
import time

import orjson

from queue_core import feed
from queue_core.defaults import (
    ADMIN_HEARTBEAT_INTERVAL_MS,
    DEFAULT_WINDOW_LIMIT,
    FREE_TIER_WINDOW_LIMIT,
)

from ... import __version__
from ...licence import LIVE_QUEUE_DETAIL
from ...runtime import runtime

logger = logging.getLogger("zizq.api.admin")

BEHIND_BYTES = 1024 * 1024
CAUGHT_UP_BYTES = 256 * 1024

_HEARTBEAT = {"event": "heartbeat"}


def _nothing_unsent() -> int:
    return 0


def live_view_licensed() -> bool:
    """Whether the licence in force allows uncapped windows (spec 5.5)."""
    return runtime.licence.allows(LIVE_QUEUE_DETAIL)


def window_limit(requested: int) -> int:
    return requested if live_view_licensed() else FREE_TIER_WINDOW_LIMIT


class Encoder:
    """One moment's messages as text, each with the same ``server`` object.

    The ``server`` object is encoded once and spliced in front of each
    event's fields. An event object given again (a turn's ack/nack markers,
    which every connection is sent; a change that several dashboards'
    windows share, ``Jobs.change``) is encoded once: the encoder keeps
    every event it encoded, so no id it caches can be reused meanwhile.
    """

    __slots__ = ("_prefix", "_texts")

    def __init__(self, server: dict) -> None:
        self._prefix = b'{"server":' + orjson.dumps(server) + b","
        self._texts = {}  # id(event) -> (event, text)

    def __call__(self, event: dict) -> str:
        try:
            return self._texts[id(event)][1]
        except KeyError:
            text = (self._prefix + orjson.dumps(event)[1:]).decode()
            self._texts[id(event)] = (event, text)
            return text


class Connection:
    """One ``/events`` client: its view, its outbox and its pacing."""

    def __init__(self, hub, send, unsent_bytes=None) -> None:
        self.hub = hub
        self.view = feed.View(hub.feed, window_limit(DEFAULT_WINDOW_LIMIT))
        self.behind = False
        self._send = send
        self._unsent = unsent_bytes or _nothing_unsent
        self._outbox = []
        self._outbox_bytes = 0
        self._wake = None
        self._writer = asyncio.ensure_future(self._write())

    def reply(self, events_of) -> None:
        """Queue ``events_of(jobs)`` (a snapshot, a find result) unless the
        client is too far behind to be sent anything."""
        jobs = feed.Jobs(runtime.store)
        encode = Encoder(self.hub.server_status())
        if self._may_send(jobs, encode):
            self._queue(events_of(jobs), encode)

    def on_turn(self, turn, jobs, encode: "Encoder") -> None:
        if self._may_send(jobs, encode):
            self._queue(self.view.changes(turn, jobs), encode)

    def on_heartbeat(self, jobs, encode: "Encoder") -> None:
        if self._may_send(jobs, encode):
            self._queue([_HEARTBEAT], encode)

    def close(self) -> None:
        self._writer.cancel()

    def _may_send(self, jobs, encode: "Encoder") -> bool:
        """False while the client is behind; a client that has caught up is
        first sent the snapshot it is owed."""
        unsent = self._unsent() + self._outbox_bytes
        if self.behind:
            if unsent > CAUGHT_UP_BYTES:
                return False
            self.behind = False
            self._queue([self.view.snapshot(jobs)], encode)
        elif unsent > BEHIND_BYTES:
            self._fall_behind()
            return False
        return not self.behind

    def _fall_behind(self) -> None:
        self.behind = True
        self._outbox.clear()
        self._outbox_bytes = 0

    def _queue(self, events, encode: "Encoder") -> None:
        """Queue ``events``; past ``BEHIND_BYTES`` the client falls behind
        at once, so one turn's events (a bulk ack's thousands of markers)
        never hold more than that either."""
        if not events:
            return
        room = BEHIND_BYTES - self._unsent() - self._outbox_bytes
        outbox = self._outbox
        queued = 0
        for event in events:
            text = encode(event)
            outbox.append(text)
            queued += len(text)
            if queued > room:
                self._fall_behind()
                return
        self._outbox_bytes += queued
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._outbox:
                self._wake = loop.create_future()
                await self._wake
            texts, self._outbox = self._outbox, []
            self._outbox_bytes = 0
            for text in texts:
                try:
                    await self._send({"type": "websocket.send", "text": text})
                except Exception:
                    # Too big for the WebSocket layer's 1 MiB message limit:
                    # a client that missed a message cannot be trusted to
                    # be in step, so it is closed (and reconnects).
                    logger.warning("admin event not sent; closing", exc_info=True)
                    await self._send({"type": "websocket.close", "code": 1009})
                    return


class Hub:
    """Every open ``/events`` connection, and the feed they share."""

    def __init__(self) -> None:
        self.connections = set()
        self.feed = None
        self._joining = 0  # connections waiting for the feed's build
        self._build_started = None  # perf_counter() when the build began
        self._heartbeats = None

    async def join(self, send, unsent_bytes=None) -> Connection:
        """A new connection, already sent its first snapshot.

        The first one attaches the feed and waits while it is built (a
        slice per loop turn), as does any that arrives meanwhile; one that
        is cancelled while waiting (its client left) counts as gone.
        """
        if self.feed is None:
            self._build_started = time.perf_counter()
            self.feed = feed.attach(runtime.store)
            self.feed.subscribers.append(self._on_turn)
            self._heartbeats = asyncio.ensure_future(self._beat())
        self._joining += 1
        try:
            await self.feed.ready()
        except BaseException:
            self._joining -= 1
            self._release()
            raise
        self._joining -= 1
        if self._build_started is not None:
            build_ms = round((time.perf_counter() - self._build_started) * 1000, 3)
            logger.debug("event feed built", extra={"fields": {"build_ms": build_ms}})
            self._build_started = None
        connection = Connection(self, send, unsent_bytes)
        self.connections.add(connection)
        connection.reply(lambda jobs: [connection.view.snapshot(jobs)])
        return connection

    def leave(self, connection: Connection) -> None:
        connection.close()
        self.connections.discard(connection)
        self._release()

    def _release(self) -> None:
        """Drop the feed once no connection is open or waiting for it."""
        if self.connections or self._joining or self.feed is None:
            return
        self.feed.subscribers.remove(self._on_turn)
        feed.detach(runtime.store)
        self.feed = None
        self._heartbeats.cancel()
        self._heartbeats = None

    def server_status(self) -> dict:
        """The ``server`` object every message carries."""
        lists = self.feed.lists
        status = {
            "version": __version__,
            "uptime_ms": int((time.monotonic() - runtime.started_monotonic) * 1000),
            "tier": runtime.licence.tier,
            "total_ready": len(lists[feed.READY_LIST]),
            "total_in_flight": len(lists[feed.IN_FLIGHT_LIST]),
            "total_scheduled": len(lists[feed.SCHEDULED_LIST]),
        }
        if not live_view_licensed():
            status["subscription_limit"] = FREE_TIER_WINDOW_LIMIT
        return status

    def _on_turn(self, turn) -> None:
        if runtime.store.closed:
            return
        jobs = feed.Jobs(runtime.store)
        encode = Encoder(self.server_status())
        for connection in list(self.connections):
            try:
                connection.on_turn(turn, jobs, encode)
            except Exception:
                logger.exception("admin events: a connection's changes failed")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(ADMIN_HEARTBEAT_INTERVAL_MS / 1000)
            if runtime.store.closed:
                continue
            jobs = feed.Jobs(runtime.store)
            encode = Encoder(self.server_status())
            for connection in list(self.connections):
                connection.on_heartbeat(jobs, encode)


hub = Hub()
