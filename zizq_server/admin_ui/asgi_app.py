"""The Django admin as an ASGI app for the admin listener's ``/admin/`` paths.

Django's own ASGI handler runs the request stack (sessions, CSRF, auth,
messages) and the views, in its thread; static files come from the apps'
``static`` directories through ``ASGIStaticFilesHandler``, so nobody runs
``collectstatic``. The first request attaches ``bridge`` to the loop it runs
on, the store's.
"""

import asyncio

from . import bridge

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
        await self.django(scope, receive, send)
