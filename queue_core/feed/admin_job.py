"""AdminJob and JobWindow, the dashboard's JSON shapes (ADMIN_AND_CLI.md 6.3).

Keys in the spec's order: ``id``, ``queue``, ``job_type`` (not ``type``),
``priority``, ``ready_at``, ``attempts``, then ``dequeued_at`` and
``failed_at`` when set, then, in detail mode only, ``payload``,
``retry_limit``, ``backoff``, ``retention``, ``unique_key`` and
``unique_while`` when set. The payload is never included, as in the real
server (the spec allows it in detail mode): a payload may be megabytes,
and a window's message must stay under the WebSocket layer's 1 MiB limit.

``Jobs`` loads each job of a window once per turn, however many
dashboards show it: in-flight jobs from memory, the others by key; and
renders each change once per turn (``change``).
"""

from ..store import records


class Jobs:
    """Jobs by id, loaded on first use (``None`` for a job gone), and the
    ``job_changed`` events made of them this turn."""

    __slots__ = ("_changes", "_loaded", "store")

    def __init__(self, store) -> None:
        self.store = store
        self._loaded = {}
        self._changes = {}

    def get(self, job_id: str):
        try:
            return self._loaded[job_id]
        except KeyError:
            job = self._loaded[job_id] = records.load(self.store, job_id)
            return job

    def change(self, job_id: str, status: str, detail=None):
        """The ``job_changed`` event for ``job_id``: with the job rendered
        at ``detail`` (None: without the job), or None for a job gone.

        One dict per event for every dashboard this turn, so dashboards
        that see the same change share it (and its encoding).
        """
        key = (job_id, status, detail)
        event = self._changes.get(key)
        if event is None:
            event = {"event": "job_changed", "id": job_id, "status": status}
            if detail is not None:
                job = self.get(job_id)
                if job is None:
                    return None
                event["job"] = render(job, detail)
            self._changes[key] = event
        return event


def render(job, detail: bool) -> dict:
    """One AdminJob."""
    out = {
        "id": job.id,
        "queue": job.queue,
        "job_type": job.type,
        "priority": job.priority,
        "ready_at": job.ready_at,
        "attempts": job.attempts,
    }
    if job.dequeued_at is not None:
        out["dequeued_at"] = job.dequeued_at
    if job.failed_at is not None:
        out["failed_at"] = job.failed_at
    if detail:
        _add_detail(out, job)
    return out


def _add_detail(out: dict, job) -> None:
    if job.retry_limit is not None:
        out["retry_limit"] = job.retry_limit
    if job.backoff is not None:
        exponent, base_ms, jitter_ms = job.backoff
        out["backoff"] = {"base_ms": base_ms, "exponent": exponent, "jitter_ms": jitter_ms}
    if job.retention is not None:
        completed_ms, dead_ms = job.retention
        retention = out["retention"] = {}
        if completed_ms is not None:
            retention["completed_ms"] = completed_ms
        if dead_ms is not None:
            retention["dead_ms"] = dead_ms
    if job.unique_key is not None:
        out["unique_key"] = job.unique_key
        out["unique_while"] = job.unique_while or "queued"


def window(win, jobs: Jobs, detail: bool) -> dict:
    """One JobWindow; a job gone since the window was resolved is left out."""
    items = []
    for job_id in win.ids:
        job = jobs.get(job_id)
        if job is not None:
            items.append(render(job, detail))
    out = {"items": items, "first_position": win.first_position, "total": win.total}
    if win.resolved_anchor is not None:
        out["resolved_anchor"] = win.resolved_anchor
    return out
