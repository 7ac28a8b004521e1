"""``POST /jobs`` and ``POST /jobs/bulk`` (API.md 7.2).

Bulk requests validate every job before anything is written, so a bad job
anywhere rejects the whole request; the writes of one request then land in
one batch, which makes the request atomic.

A job of the plain shape (valid names, no pro options but a unique key
with a valid scope) is read by the compiled ``codec.plain_enqueue_request``
(~0.5 us instead of ~5 us), and a JSON bulk body whose jobs are all plain
by ``codec.plain_bulk_requests`` straight from its bytes, without building
its objects; the others, and every error message, come from the full
decoder in ``serializers``. A plain job can fail one check only, the
licence of its unique key (``_check_keyed``).

An enqueue with unique keys or batched jobs comes back as a
``unique.Enqueued``, which flags its duplicates and folds: 200 for a single
duplicate or fold, and for a bulk whose every job is one; each
confirmation says ``duplicate`` and ``folded`` (API.md 7.2.2-5). A bulk
job's 422 from its batch expressions names the job, as its 400s do.
"""

import orjson

from queue_core import codec
from queue_core.errors import Unprocessable
from queue_core.store.batch import Refused
from queue_core.store.unique import Enqueued

from ...runtime import runtime
from .. import fields, serializers
from ..app import decode_body, parse_body
from ..negotiation import JSON, BodyError


async def enqueue_one(request):
    body_fmt, body = await request.decoded_body()
    job = codec.plain_enqueue_request(body)
    if job is None:
        job = parse_body(body_fmt, serializers.decode_job, body)
        serializers.validate_job(job)
        serializers.check_licence((job,))
        serializers.validate_scope(job)
    elif job.unique_key is not None:
        serializers.check_unique_licence()
    enqueued = await runtime.store.enqueue((job,))
    duplicate = folded = False
    if type(enqueued) is Enqueued:
        duplicate = enqueued.duplicates[0]
        folded = enqueued.folded is not None and enqueued.folded[0]
    status = 200 if duplicate or folded else 201
    if request.fmt == JSON:
        return status, codec.enqueued_to_json(enqueued[0], duplicate, folded)
    return status, codec.enqueued_to_obj(enqueued[0], duplicate, folded)


async def enqueue_bulk(request):
    body_fmt, raw = await request.raw_body()
    jobs = codec.plain_bulk_requests(raw) if body_fmt == JSON else None
    if jobs is None:
        jobs = _decode_in_full(body_fmt, raw)
    else:
        _check_keyed(jobs)
    created = await _enqueue(jobs) if jobs else []
    if type(created) is Enqueued:
        return _with_duplicates(request.fmt, created)
    if request.fmt == JSON:
        # The confirmations are written as JSON directly, not as dicts for
        # orjson: ~1 us a job less.
        return 201, codec.bulk_enqueued_to_json(created)
    return 201, {"jobs": [codec.enqueued_to_obj(j, False, False) for j in created]}


async def _enqueue(jobs):
    try:
        return await runtime.store.enqueue(jobs)
    except Refused as exc:
        if exc.index is None:
            raise
        raise Unprocessable(f"jobs[{exc.index}]: {exc.message}") from None


def _with_duplicates(fmt: str, enqueued: Enqueued):
    """A bulk's answer when it had unique keys or batched jobs: 200 if all
    were duplicates or folds."""
    flags, folded = enqueued.duplicates, enqueued.folded
    if folded is None:
        status = 200 if all(flags) else 201
        if fmt == JSON:
            return status, codec.bulk_enqueued_to_json(enqueued, flags)
        folded = [False] * len(flags)
    else:
        status = 200 if all(map(bool.__or__, flags, folded)) else 201
    jobs = list(map(codec.enqueued_to_obj, enqueued, flags, folded))
    if fmt == JSON:
        return status, orjson.dumps({"jobs": jobs})
    return status, {"jobs": jobs}


def _decode_in_full(body_fmt: str, raw: bytes) -> list:
    """The requests of a body that is not all plain JSON jobs, or its 400."""
    items = parse_body(body_fmt, _jobs_list, decode_body(body_fmt, raw))
    jobs = [codec.plain_enqueue_request(item) for item in items]
    if None in jobs:
        return _decode_the_rest(body_fmt, items, jobs)
    _check_keyed(jobs)
    return jobs


def _check_keyed(jobs) -> None:
    """The licence check of plain jobs: only unique keys can need one."""
    if codec.keyed(jobs):
        serializers.check_unique_licence()


def _decode_the_rest(body_fmt: str, items: list, plain: list) -> list:
    """Fully decode the jobs the fast path left (None in ``plain``).

    Errors come in the order the full decoder alone would give them: the
    first decoding error of any job, then the first validation error, then
    the licence check.
    """
    jobs = [
        job or parse_body(body_fmt, serializers.decode_job, item, f"jobs[{i}]: ")
        for i, (job, item) in enumerate(zip(plain, items))
    ]
    for i, job in enumerate(jobs):
        if plain[i] is None:
            serializers.validate_job(job, f"jobs[{i}]: ", scope=True)
    serializers.check_licence(jobs)
    return jobs


def _jobs_list(body) -> list:
    items = fields.required(fields.mapping(body), "jobs")
    if not isinstance(items, list):
        raise BodyError(
            f"jobs: invalid type: {fields.describe(items)}, expected a sequence"
        )
    return items
