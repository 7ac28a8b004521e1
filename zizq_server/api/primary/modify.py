"""Deleting jobs: ``DELETE /jobs/{id}`` and ``POST /reset`` (API.md 7.5)."""

from ...runtime import runtime


async def delete_job(request):
    await runtime.store.delete(request.params[0])
    return 204, None


async def reset(request):
    await runtime.store.reset()
    return 204, None
