"""Reading jobs and their error records.

Retained terminal jobs past their ``purge_at`` are invisible here even
before the reaper removes them (API.md 6).
"""

from .. import codec
from . import records


def get_visible(store, job_id: str, now_ms: int):
    """The job if it exists and is not past its purge time, else None."""
    job = records.load(store, job_id)
    if job is None or not job.visible_at(now_ms):
        return None
    return job


def error_records(store, job_id: str) -> list:
    """Every error record of a job, by attempt."""
    store.ks.flush()
    prefix = codec.error_prefix(job_id)
    return [
        codec.decode_error(value)
        for _, value in store.ks.scan(prefix, prefix + b"\xff\xff\xff\xff\xff")
    ]


def error_record(store, job_id: str, attempt: int):
    """One error record, or None."""
    data = store.ks.get(codec.error_key(job_id, attempt))
    return None if data is None else codec.decode_error(data)


def queue_names(store) -> list:
    """Distinct queue names of every stored job, by byte order."""
    names = {queue for queue, _ in store.counts}
    return sorted(names, key=str.encode)
