"""Reading jobs: ``GET /jobs/{id}``, ``/queues``, ``/jobs/{id}/errors/{attempt}``."""

from queue_core import codec
from queue_core.errors import NotFound

from ...runtime import runtime
from ..app import HttpError
from ..negotiation import JSON

JOB_NOT_FOUND = "job not found"


def visible_job(job_id: str):
    job = runtime.store.get(job_id)
    if job is None:
        raise NotFound(JOB_NOT_FOUND)
    return job


def render_job(request, job) -> bytes | dict:
    """A job with payload: JSON splices the stored payload bytes verbatim."""
    if request.fmt == JSON:
        return codec.job_to_json(job, True)
    return codec.job_to_obj(job, True)


async def get_job(request):
    return 200, render_job(request, visible_job(request.params[0]))


async def queues(request):
    return 200, {"queues": runtime.store.queues()}


async def get_error(request):
    job_id, attempt_text = request.params
    if not attempt_text.isdigit() or int(attempt_text) > 0xFFFFFFFF:
        raise HttpError(
            400,
            f"Invalid URL: Cannot parse `{attempt_text}` to a `u32`".encode(),
            "text/plain; charset=utf-8",
        )
    visible_job(job_id)
    record = runtime.store.error(job_id, int(attempt_text))
    if record is None:
        raise NotFound("error record not found")
    return 200, codec.error_to_obj(record)
