"""``zizq top``: the live terminal dashboard (ADMIN_AND_CLI.md 7).

A Textual application over the admin listener's ``GET /events``
WebSocket: ``connection`` keeps the socket up (reconnecting every 2 s),
``protocol`` checks what the server sends, ``lists`` holds each tab's
window of rows around the cursor, the render modules draw the screen and
``app`` ties them to the keys. Textual was chosen because it owns the
terminal (raw mode, alternate screen, resize, Ctrl-Z) so that nothing here
writes escape codes by hand, and because it comes with a test harness
(``App.run_test``) that drives the real app.
"""

from .app import TopApp

__all__ = ["TopApp", "run"]


def run(url: str, ssl_context, refresh_ms: int) -> None:
    """Take over the terminal until the user quits."""
    TopApp(url, ssl_context, refresh_ms).run()
