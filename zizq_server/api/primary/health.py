"""``GET /health`` and ``GET /version`` (API.md 7.1)."""

from zizq_server import __version__

_OK = {"status": "ok"}
_VERSION = {"version": __version__}


async def health(request):
    return 200, _OK


async def version(request):
    return 200, _VERSION
