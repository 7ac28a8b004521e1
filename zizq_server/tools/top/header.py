"""The top of the screen: title, connection status, server and totals lines.

Lines 1 to 4 of ADMIN_AND_CLI.md 7.2: ``  Zizq <version>``, the status dot
with its colour and the URL (and a ``PAUSED`` badge), then, while
connected, the server's version and uptime and its totals (the server's
counts, never the capped window's). A problem (why the last connection
failed, or a bad message from the server) is shown under the status.
"""

from rich.text import Text

from zizq_server import __version__

from . import format
from .connection import CONNECTED, CONNECTING

_COLOURS = {CONNECTING: "yellow", CONNECTED: "green"}


def render(status: str, url: str, paused: bool, server, uptime_ms, problem) -> Text:
    text = Text(f"  Zizq {__version__}\n")
    text.append("● ", style=_COLOURS.get(status, "red"))
    text.append(f"{status} {url}")
    if paused:
        text.append("   PAUSED", style="bold reverse yellow")
    if problem:
        text.append(f"\n  {problem}", style="red")
    if status == CONNECTED:
        version = server.get("version") if server else None
        uptime = format.duration(uptime_ms) if uptime_ms is not None else "?"
        if not isinstance(version, str):
            version = "?"
        text.append(f"\n  Server version: {version}, Uptime: {uptime}")
        if server:
            text.append(
                f"\n  Queue: {server['total_in_flight']} in-flight, "
                f"{server['total_ready']} ready, {server['total_scheduled']} scheduled"
            )
    return text
