"""Reading jobs and their error records.

Retained terminal jobs past their ``purge_at`` are invisible here even
before the reaper removes them (API.md 6).
"""

from itertools import islice

from .. import codec
from . import records, scan
from .keyspace import prefix_end


def get_visible(store, job_id: str, now_ms: int):
    """The job if it exists and is not past its purge time, else None."""
    job = records.load(store, job_id)
    if job is None or not job.visible_at(now_ms):
        return None
    return job


async def list_jobs(store, job_filter, options, now_ms: int):
    """One page of visible matching jobs and whether more follow."""
    limit = options.limit
    jobs = await scan.first_matches(
        store, job_filter, now_ms, options.order, options.from_id, limit + 1
    )
    return jobs[:limit], len(jobs) > limit


def list_errors(store, job_id: str, options):
    """One page of a job's error records (by attempt) and whether more follow.

    A descending page with a cursor continues *below* it, which is what the
    real server intended (API.md 7.4.6).
    """
    prefix = codec.error_prefix(job_id)
    end = prefix_end(prefix)
    cursor = options.from_attempt
    store.ks.flush()
    if options.order == "asc":
        start = prefix if cursor is None else codec.error_key(job_id, cursor) + b"\x00"
        rows = store.ks.scan(start, end)
    else:
        stop = end if cursor is None else codec.error_key(job_id, cursor)
        rows = store.ks.scan_reverse(prefix, stop)
    return _page((codec.decode_error(value) for _, value in rows), options.limit)


def _page(items, limit: int):
    """The first ``limit`` items and whether any follow (reads one more)."""
    page = list(islice(items, limit + 1))
    return page[:limit], len(page) > limit


def error_record(store, job_id: str, attempt: int):
    """One error record, or None."""
    data = store.ks.get(codec.error_key(job_id, attempt))
    return None if data is None else codec.decode_error(data)


def queue_names(store) -> list:
    """Distinct queue names of every stored job, by byte order."""
    names = {queue for queue, _ in store.counts}
    return sorted(names, key=str.encode)
