"""The cron endpoints' 500: ``{"error":"internal error"}`` (API.md 2.3)."""

import asyncio
from types import SimpleNamespace

import pytest

from queue_core.errors import NotFound
from zizq_server.api.app import HttpError
from zizq_server.api.primary.cron import endpoint

REQUEST = SimpleNamespace(method="GET", scope={"path": "/crons"})


def test_an_unexpected_error_is_the_cron_500(caplog):
    @endpoint
    async def broken(request):
        raise RuntimeError("boom")

    with pytest.raises(HttpError) as caught:
        asyncio.run(broken(REQUEST))
    assert (caught.value.status, caught.value.body) == (
        500,
        {"error": "internal error"},
    )
    assert "unhandled error" in caplog.text and "boom" in caplog.text


def test_refusals_and_answers_pass_through():
    @endpoint
    async def missing(request):
        raise NotFound("cron group 'g' not found")

    @endpoint
    async def fine(request):
        return 200, {"crons": []}

    with pytest.raises(NotFound):
        asyncio.run(missing(REQUEST))
    assert asyncio.run(fine(REQUEST)) == (200, {"crons": []})
