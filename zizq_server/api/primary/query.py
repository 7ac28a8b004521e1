"""Reading jobs (API.md 7.4): one job, lists, counts, queues, error records."""

import orjson

from queue_core import codec, filters
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


def render_job(request, job):
    """A job with payload: JSON splices the stored payload bytes verbatim."""
    if request.fmt == JSON:
        return codec.job_to_json(job, True)
    return codec.job_to_obj(job, True)


def _render_jobs(request, jobs, pages) -> bytes | dict:
    if request.fmt == JSON:
        items = [orjson.Fragment(codec.job_to_json(j, True)) for j in jobs]
        return orjson.dumps({"jobs": items, "pages": pages})
    return {"jobs": [codec.job_to_obj(j, True) for j in jobs], "pages": pages}


async def get_job(request):
    return 200, render_job(request, visible_job(request.params[0]))


async def list_jobs(request):
    job_filter, options = filters.parse_list_query(request.query)
    page, more = await runtime.store.list_jobs(job_filter, options)
    first = page[0].id if page else None
    last = page[-1].id if page else None
    pages = filters.render_page_links(job_filter, options, first, last, more)
    return 200, _render_jobs(request, page, pages)


async def count_jobs(request):
    job_filter = filters.parse_job_filter(request.query)
    return 200, {"count": await runtime.store.count(job_filter)}


async def queues(request):
    return 200, {"queues": runtime.store.queues()}


async def list_errors(request):
    job_id = request.params[0]
    options = filters.parse_error_list_query(request.query)
    visible_job(job_id)
    page, more = runtime.store.list_errors(job_id, options)
    first = page[0].attempt if page else None
    last = page[-1].attempt if page else None
    pages = filters.render_error_page_links(job_id, options, first, last, more)
    return 200, {"errors": [codec.error_to_obj(r) for r in page], "pages": pages}


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
