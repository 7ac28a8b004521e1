"""The Django admin as an ASGI app for the admin listener's ``/admin/`` paths.

Django's own ASGI handler runs the request stack (sessions, CSRF, auth,
messages) and the views, in its thread; static files come from the apps'
``static`` directories through ``ASGIStaticFilesHandler``, so nobody runs
``collectstatic``. The first request attaches ``bridge`` to the loop it runs
on, the store's. Each request is logged like the admin API's (target
``zizq::api::admin``), with the status Django sent.
"""

import asyncio
import logging
import time

from ..logging import log_exchange
from . import bridge

log = logging.getLogger("zizq.api.admin")

PREFIX = "/admin"


def is_admin_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class AdminUiApp:
    def __init__(self) -> None:
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
        from django.core.asgi import get_asgi_application

        self.django = ASGIStaticFilesHandler(get_asgi_application())

    async def __call__(self, scope, receive, send) -> None:
        bridge.attach(asyncio.get_running_loop())
        started = time.perf_counter_ns()
        status = 500  # what the client sees if Django sends no response

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.django(scope, receive, sending)
        finally:
            # Also when Daphne cancels the app because the client closed
            # the connection, which it may do once the response is sent
            # while Django is still finishing the request in its thread.
            if log.isEnabledFor(logging.INFO):
                log_exchange(log, scope, status, started)
