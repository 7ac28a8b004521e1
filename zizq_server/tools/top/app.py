"""``TopApp``: the Textual application of ``zizq top`` (ADMIN_AND_CLI.md 7.2).

The app owns the state (the three ``JobList`` tabs, the last server
status, the modes: paused, detail, delete prompt, search prompt) and the
keys; the screen is drawn by the small render modules (``header``,
``depth``, ``table``, ``detail``, ``footer``) into plain ``Static``
widgets, on the refresh tick (``-r``) and at once after a key. Textual
owns the terminal: raw mode and the alternate screen, restored on exit
and around Ctrl-Z.

Windows follow the cursor: after every change of cursor, size or list,
``_want`` asks each tab which anchor it needs and sends at most one
``subscribe`` per tab every ``PACE_S``; a later need waits for the pace
timer. The window size is ``WINDOW_ROWS`` or three screens, whichever is
more, or the server's free-tier cap.
"""

import collections
import json
import re
import time
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from . import depth, detail, footer, header, protocol, table
from .connection import CONNECTED, CONNECTING, Connection
from .lists import HEAD, JobList

PACE_S = 0.1
PROBE_S = 0.25  # the longest the totals wait for news before asking
PROBE, SEARCH = "probe", "search"
WINDOW_ROWS = 200  # the server's default window when licensed
_SPLIT = re.compile(r"[,\s]+")
# Keys that work in each mode; all others are left to the widgets.
_MODE_ACTIONS = {
    "normal": None,  # every action
    "delete": {"confirm_delete", "cancel", "quit_or_cancel", "no"},
    "search": {"cancel", "switch_field", "quit", "submit_search"},
}
_WIDGETS = (
    *("header", "depth", "tabs", "table", "detail", "cap"),
    *("search", "types", "queues", "footer"),
)
CAP_MESSAGE = (
    "Display is currently capped at {n} jobs.\n"
    "Upgrade to a pro license to see everything."
)


def _now_ms() -> int:
    return int(time.time() * 1000)


class TopApp(App):
    """The dashboard."""

    CSS = """
    Screen { layout: vertical; overflow: hidden; }
    #header, #depth, #tabs, #cap, #footer { height: auto; }
    #table { height: 1fr; }
    #detail { height: 0; }
    #cap { text-align: center; width: 100%; }
    #search { height: 1; display: none; }
    #search Input { border: none; height: 1; width: 30; padding: 0 1; }
    """
    ENABLE_COMMAND_PALETTE = False
    # The search inputs are focused only while the prompt is open: a
    # focused Input takes printable keys ahead of every binding.
    AUTO_FOCUS = None
    BINDINGS: ClassVar = [
        Binding("q", "quit_or_cancel", priority=True),
        Binding("ctrl+c", "quit", priority=True),
        Binding("ctrl+z", "suspend_process", priority=True),
        Binding("tab", "switch_field", priority=True),
        Binding("shift+tab", "tab(-1)", priority=True),
        Binding("up,k", "move(-1)", priority=True),
        Binding("down,j", "move(1)", priority=True),
        Binding("pageup", "page(-1)", priority=True),
        Binding("pagedown", "page(1)", priority=True),
        Binding("g,home", "first", priority=True),
        Binding("G,end", "last", priority=True),
        Binding("left", "hscroll(-8)", priority=True),
        Binding("right", "hscroll(8)", priority=True),
        Binding("i", "info", priority=True),
        Binding("p", "pause", priority=True),
        Binding("D", "delete", priority=True),
        Binding("y", "confirm_delete", priority=True),
        Binding("n", "no", priority=True),
        Binding("N", "find_next('backward')", priority=True),
        Binding("slash", "search", priority=True),
        Binding("escape", "cancel", priority=True),
        # Enter is a binding, not Input.Submitted: keys typed after it
        # must find the prompt already closed.
        Binding("enter", "submit_search", priority=True),
    ]

    def __init__(self, url: str, ssl_context=None, refresh_ms: int = 500) -> None:
        super().__init__()
        self.url = url.rstrip("/")
        self.refresh_s = max(refresh_ms, 1) / 1000
        self.connection = Connection(
            self.url, ssl_context, self._ws_status, self._ws_message, self._ws_problem
        )
        self.lists = [JobList(name) for name, _label in table.TABS]
        self.active = 0
        self.status = CONNECTING
        self.problem = None
        self.server = None
        self.server_at = 0.0  # monotonic time of the last server status
        self.cap = None
        self.paused = False
        self.detail = False
        self.mode = "normal"
        self.delete_id = None
        self.last_query = None  # (types, queues) of the last search
        self.note = None
        self.hscroll = 0
        self._sent_at = {}
        self._waiting = set()
        self._widgets = {}
        self._header_at = 0.0
        self._header_lines = 0
        self._finds = collections.deque()  # PROBE or SEARCH per find sent
        self._drawn = {}  # widget name -> what it shows

    # -- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield Static(id="depth")
        yield Static(id="tabs")
        yield Static(id="table")
        yield Static(id="detail")
        yield Static(id="cap")
        with Horizontal(id="search"):
            yield Label(" Search  Type: ")
            yield Input(id="types", disabled=True)
            yield Label("  Queue: ")
            yield Input(id="queues", disabled=True)
        yield Static(id="footer")

    def on_mount(self) -> None:
        for name in _WIDGETS:
            self._widgets[name] = self.query_one(f"#{name}")
        self.run_worker(self.connection.run(), exit_on_error=True)
        self.set_interval(self.refresh_s, self.draw)
        self.set_interval(PROBE_S, self._probe_totals)
        self.draw()

    def _probe_totals(self) -> None:
        """Ask for fresh totals when the server has said nothing for ``PROBE_S``.

        The server sends its totals with every message, but a change that
        moves none of this dashboard's windows (a bulk enqueue behind a
        full head window) sends none until the next 2 s heartbeat. A
        ``find`` that ``locate``s no job is answered at once with the
        envelope, for the price of a lookup that finds nothing; the totals
        line is redrawn when it comes, so it lags the store by well under a
        second whatever the refresh rate.
        """
        stale = time.monotonic() - self.server_at >= PROBE_S
        if self.status == CONNECTED and stale and PROBE not in self._finds:
            self._finds.append(PROBE)
            anchor = {"kind": "job_id", "id": "-"}
            self.connection.send(protocol.find("ready", anchor, "locate", {}, 1))

    def on_resize(self) -> None:
        self.call_after_refresh(self._after_resize)

    def _after_resize(self) -> None:
        self.hscroll = min(self.hscroll, table.max_scroll(self.size.width))
        for job_list in self.lists:
            self._want(job_list, force=True)
        self.draw()

    @property
    def tab(self) -> JobList:
        return self.lists[self.active]

    def table_rows(self) -> int:
        """Rows of jobs the table area holds (its heading excluded)."""
        area = (
            self.query_one("#table").size.height + self.query_one("#detail").size.height
        )
        return max(1, area - 1 - detail.height(area) if self.detail else area - 1)

    def window_size(self) -> int:
        return self.cap or max(WINDOW_ROWS, 3 * self.table_rows())

    # -- drawing ------------------------------------------------------------

    def draw(self) -> None:
        width = self.size.width
        self._draw_header()
        counts = [job_list.rows.total for job_list in self.lists]
        self._show("depth", depth.render(counts, self.active, self.tab.cursor, width))
        self._show("tabs", table.tabs(self.active))
        self._draw_table(width)
        self._draw_footer()

    def _draw_header(self) -> None:
        self._header_at = time.monotonic()
        uptime = None
        if self.server is not None and isinstance(self.server.get("uptime_ms"), int):
            since = int((time.monotonic() - self.server_at) * 1000)
            uptime = self.server["uptime_ms"] + since
        text = header.render(
            self.status, self.url, self.paused, self.server, uptime, self.problem
        )
        lines = text.plain.count("\n")
        # Its height changes with the connection; a relayout only then.
        self._show("header", text, layout=lines != self._header_lines)
        self._header_lines = lines

    def _show(self, name: str, content, key=None, layout: bool = False) -> None:
        """Update a widget only when what it shows changed (``key``, or the
        content itself): an idle dashboard redraws almost nothing."""
        key = content if key is None else key
        if self._drawn.get(name) != key:
            self._drawn[name] = key
            self._widgets[name].update(content, layout=layout)

    def _draw_table(self, width: int) -> None:
        table_widget, panel = self._widgets["table"], self._widgets["detail"]
        area = table_widget.size.height + panel.size.height
        rows = detail.height(area) if self.detail else 0
        if panel.styles.height is None or panel.styles.height.value != rows:
            panel.styles.height = rows
        tab = self.tab
        tab.scroll(max(1, area - rows - 1))
        now = _now_ms()
        self._show(
            "table", table.render(tab, area - rows - 1, width, self.hscroll, now)
        )
        if rows:
            job = tab.current()
            key = (json.dumps(job, sort_keys=True), tab.name, rows)
            self._show("detail", detail.render(job, tab.name, rows), key)
        cap = self._widgets["cap"]
        cap.display = self.cap is not None
        if self.cap is not None:
            self._show("cap", CAP_MESSAGE.format(n=self.cap), layout=True)

    def _draw_footer(self) -> None:
        searching = self.mode == "search"
        self._widgets["search"].display = searching
        self._widgets["types"].disabled = self._widgets[
            "queues"
        ].disabled = not searching
        self._widgets["footer"].display = not searching
        if self.mode == "delete":
            self._show("footer", footer.delete_prompt(self.delete_id))
        else:
            bar = footer.help_bar(self.paused, self.tab.at_frozen_edge(), self.note)
            self._show("footer", bar)

    # -- the connection's callbacks -----------------------------------------

    def _ws_status(self, status: str, problem) -> None:
        self.status = status
        if status == CONNECTED:
            self.problem = None
            self._sent_at.clear()
            self._finds.clear()
            for job_list in self.lists:
                job_list.anchor = HEAD  # what the server subscribes at connect
            if self.detail:
                self.connection.send(protocol.set_detail_level(True))
        elif problem is not None:
            self.problem = problem
        self.draw()

    def _ws_problem(self, problem: str) -> None:
        self.problem = problem

    def _ws_message(self, message: dict) -> None:
        self.problem = None
        self._take_server(message["server"])
        if time.monotonic() - self._header_at >= PACE_S:
            self._draw_header()  # fresh totals need not wait for the tick
        event = message["event"]
        if event == "job_snapshot":
            for job_list in self.lists:
                job_list.load(message[job_list.name])
        elif event == "job_changed":
            self._change(message)
        elif event == "find_result":
            purpose = self._finds.popleft() if self._finds else SEARCH
            if purpose == SEARCH:
                self._found(message)
        for job_list in self.lists:
            job_list.set_total(
                self.server[f"total_{job_list.name}"], self.window_size()
            )
            self._want(job_list)

    def _take_server(self, server: dict) -> None:
        self.server = server
        self.server_at = time.monotonic()
        cap = server.get("subscription_limit")
        self.cap = cap
        for job_list in self.lists:
            job_list.capped = cap is not None

    def _change(self, message: dict) -> None:
        status = message["status"]
        for job_list in self.lists:
            if status == job_list.name:
                job_list.add(message["job"])
            elif status == f"{job_list.name}_removed":
                job_list.remove(message["id"])

    def _found(self, message: dict) -> None:
        position = message["matched_position"]
        job_list = next(j for j in self.lists if j.name == message["list"])
        if position is None:
            self.note = "No match"
            return
        self.note = None
        job_list.move_to(position)
        job_list.pinned = message["window"].get("resolved_anchor")
        self.draw()

    # -- subscriptions --------------------------------------------------------

    def _want(self, job_list: JobList, force: bool = False) -> None:
        """Subscribe the window the tab needs, at most once per ``PACE_S``."""
        if self.status != CONNECTED:
            return
        limit = self.window_size()
        anchor = job_list.wanted(self.table_rows(), limit)
        if anchor is None and not force:
            return
        name = job_list.name
        wait = self._sent_at.get(name, 0.0) + PACE_S - time.monotonic()
        if wait > 0:
            if name not in self._waiting:
                self._waiting.add(name)
                self.set_timer(wait, lambda: self._paced(job_list, force))
            return
        job_list.anchor = anchor or job_list.anchor
        job_list.stale = False
        self._sent_at[name] = time.monotonic()
        self.connection.send(protocol.subscribe(name, job_list.anchor, limit))

    def _paced(self, job_list: JobList, force: bool) -> None:
        self._waiting.discard(job_list.name)
        self._want(job_list, force)

    # -- keys -----------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool:
        allowed = _MODE_ACTIONS[self.mode]
        return allowed is None or action in allowed

    def _navigated(self) -> None:
        self.note = None
        self.tab.scroll(self.table_rows())
        self._want(self.tab)
        self.draw()

    def action_quit_or_cancel(self) -> None:
        if self.mode == "delete":
            self.action_cancel()
        else:
            self.exit()

    def action_switch_field(self) -> None:
        if self.mode == "search":
            other = "#queues" if self.focused is self.query_one("#types") else "#types"
            self.query_one(other, Input).focus()
            return
        self.action_tab(1)

    def action_tab(self, step: int) -> None:
        self.active = (self.active + step) % len(self.lists)
        self._navigated()

    def action_move(self, step: int) -> None:
        self.tab.move_by(step)
        self._navigated()

    def action_page(self, step: int) -> None:
        self.tab.move_by(step * self.table_rows())
        self._navigated()

    def action_first(self) -> None:
        self.tab.move_to(self.tab.bounds()[0])
        self._navigated()

    def action_last(self) -> None:
        self.tab.move_to(self.tab.bounds()[1])
        self._navigated()

    def action_hscroll(self, step: int) -> None:
        self.hscroll = min(
            max(0, self.hscroll + step), table.max_scroll(self.size.width)
        )
        self.draw()

    def action_info(self) -> None:
        if self.paused:
            return
        self.detail = not self.detail
        self.connection.send(protocol.set_detail_level(self.detail))
        self.call_after_refresh(self._navigated)
        self.draw()

    def action_pause(self) -> None:
        self.paused = not self.paused
        for job_list in self.lists:
            if self.paused:
                job_list.freeze()
            else:
                job_list.thaw()
                self._want(job_list)
        self.draw()

    def action_delete(self) -> None:
        job = self.tab.current()
        if job is not None:
            self.mode = "delete"
            self.delete_id = job["id"]
            self.draw()

    def action_confirm_delete(self) -> None:
        if self.mode == "delete":
            self.connection.send(protocol.delete_job(self.delete_id))
            self.action_cancel()

    def action_no(self) -> None:
        if self.mode == "delete":
            self.action_cancel()
        else:
            self.action_find_next("forward")

    def action_cancel(self) -> None:
        if self.mode == "normal":
            self.tab.pinned = None
        self.mode = "normal"
        self.delete_id = None
        self.set_focus(None)
        self.draw()

    def action_search(self) -> None:
        self.mode = "search"
        types, queues = self.last_query or ("", "")
        self.query_one("#types", Input).value = types
        self.query_one("#queues", Input).value = queues
        self.draw()
        self.query_one("#types", Input).focus()

    def action_submit_search(self) -> None:
        if self.mode != "search":
            return
        self.last_query = (
            self.query_one("#types", Input).value,
            self.query_one("#queues", Input).value,
        )
        self.action_cancel()
        self.action_find_next("forward")

    def action_find_next(self, direction: str) -> None:
        if self.last_query is None:
            return
        types, queues = self.last_query
        tab = self.tab
        job = tab.current()
        if job is not None:
            anchor = {"kind": "job_id", "id": job["id"]}
        else:
            anchor = {"kind": "start" if direction == "forward" else "end"}
        query = {"queues": _values(queues), "types": _values(types)}
        self._finds.append(SEARCH)
        self.connection.send(
            protocol.find(tab.name, anchor, direction, query, self.window_size())
        )


def _values(field: str) -> list:
    """A search field's comma or space separated values (ORed)."""
    return [value for value in _SPLIT.split(field) if value]
