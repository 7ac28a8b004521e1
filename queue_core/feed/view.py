"""One dashboard connection's view: its subscriptions and what it was sent.

A ``View`` holds, per list, the subscription (anchor and limit) and the
window it last sent, and turns each feed ``Turn`` into the events that
bring the dashboard up to date (ADMIN_AND_CLI.md 6.3): one ack/nack
marker per ack and nack, whatever the dashboard's windows show (the
spec's table: an ack is ``completed`` for the id, then the in-flight
diff), then, per list in the turn's order, the jobs
that left its window (``<list>_removed``) before the ones that entered it
(``<list>`` with the job). A patch is answered with one ``job_snapshot``
instead. However many changes a turn holds, it is diffs (the spec's
snapshots are for connect, subscribe, detail level, patch and missed
events): coalesced per list, so a bulk enqueue of 10,000 jobs costs a
200-job window at most 200 additions and 200 removals, never 10,000, and
a client that cannot keep up is bounded by the server's pacing, which
sends it one snapshot once it has caught up.

A list is only re-resolved when the turn may have changed its window: a
full window whose last key sorts before everything the turn added or
removed in that list, and whose start stays put, cannot have changed. A
dashboard watching the head of a queue that a bulk enqueue appends to
costs the turn three comparisons.

Events are plain dicts without the ``server`` envelope, which the server
adds; ``find`` replies are built here too (``find_result``).
"""

from bisect import bisect_left

from .admin_job import Jobs, window
from .feed import MARKERS
from .lists import LIST_NAMES
from .windows import AROUND, EMPTY, Anchor, Window, resolve, start_of

class View:
    """What one dashboard subscribes to and was last sent."""

    __slots__ = ("_shown", "detail", "feed", "sent", "subscriptions")

    def __init__(self, feed, limit: int) -> None:
        self.feed = feed
        self.subscriptions = {name: (Anchor(), limit) for name in LIST_NAMES}
        self.detail = False
        self.sent = dict.fromkeys(LIST_NAMES, EMPTY)  # list name -> Window
        self._shown = dict.fromkeys(LIST_NAMES, frozenset())  # ids of sent

    def subscribe(self, name: str, anchor: Anchor, limit: int) -> None:
        self.subscriptions[name] = (anchor, limit)

    def snapshot(self, jobs: Jobs) -> dict:
        """A ``job_snapshot`` of all three windows (now also the sent ones)."""
        event = {"event": "job_snapshot"}
        for name in LIST_NAMES:
            win = self._resolve(name)
            self._remember(name, win)
            event[name] = window(win, jobs, self.detail)
        return event

    def changes(self, turn, jobs: Jobs) -> list:
        """The events that bring this dashboard from what it was sent to now."""
        if turn.patched:
            return [self.snapshot(jobs)]
        events = []
        for step in turn.steps:
            if step == MARKERS:
                events.extend(turn.marker_events())
                continue
            diff = self._diff(step, turn.low.get(step))
            if diff is not None:
                self._diff_events(events, step, *diff, jobs)
        return events

    def _diff(self, name: str, low):
        """``(removed, added)`` ids of a list's window, or None if unchanged."""
        sent = self.sent[name]
        anchor, limit = self.subscriptions[name]
        if low is None or self._unmoved(name, sent, anchor, limit, low):
            return None
        win = self._resolve(name)
        if win.keys == sent.keys:
            self.sent[name] = win
            return None
        before = self._shown[name]
        self._remember(name, win)
        after = self._shown[name]
        removed = [key[1] for key in sent.keys if key[1] not in after]
        added = [job_id for job_id in win.ids if job_id not in before]
        return removed, added

    def _unmoved(self, name, sent: Window, anchor: Anchor, limit: int, low) -> bool:
        """Whether a turn whose changes all sort at or after ``low`` leaves
        the window as sent: a full window ending before them, same start."""
        keys = sent.keys
        if len(keys) < limit or not keys or not keys[-1] < low:
            return False
        job_list = self.feed.lists[name]
        position = None
        if anchor.kind == AROUND:
            key = job_list.key(anchor.job_id)
            if key is not None:
                if keys[-1] < key:
                    return False  # the anchor arrived: the window moves to it
                position = sent.first_position + bisect_left(keys, key)
        start = start_of(anchor, limit, len(job_list), position)
        return start == sent.first_position

    def _diff_events(self, events, name: str, removed, added, jobs: Jobs) -> None:
        gone = f"{name}_removed"
        for job_id in removed:
            events.append(jobs.change(job_id, gone))
        for job_id in added:
            event = jobs.change(job_id, name, self.detail)
            if event is not None:
                events.append(event)

    def _resolve(self, name: str) -> Window:
        anchor, limit = self.subscriptions[name]
        return resolve(self.feed.lists[name], anchor, limit)

    def _remember(self, name: str, win: Window) -> None:
        self.sent[name] = win
        self._shown[name] = frozenset(win.ids)


def find_result(name: str, found, jobs: Jobs) -> dict:
    """The reply to ``find``: the match and its window, no detail fields."""
    if found is None:
        return {
            "event": "find_result",
            "list": name,
            "matched_position": None,
            "window": window(EMPTY, jobs, False),
        }
    return {
        "event": "find_result",
        "list": name,
        "matched_position": found.position,
        "window": window(found.window, jobs, False),
    }
