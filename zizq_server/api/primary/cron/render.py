"""Cron groups and entries as response objects, in API.md 7.6.2's key order.

Optional fields are omitted when unset; a template's ``unique_while`` is
shown only when the definition gave it (no default is filled in).
"""

import orjson


def group(group, entries) -> dict:
    d = {"name": group.name, "paused": group.paused}
    if group.paused_at is not None:
        d["paused_at"] = group.paused_at
    if group.resumed_at is not None:
        d["resumed_at"] = group.resumed_at
    d["entries"] = [entry(e) for e in entries]
    return d


def sorted_group(g) -> dict:
    """A group with its entries in name order (``GET``, ``PATCH``)."""
    return group(g, [g.entries[name] for name in sorted(g.entries)])


def entry(entry) -> dict:
    d = {"name": entry.name, "expression": entry.expression}
    if entry.timezone is not None:
        d["timezone"] = entry.timezone
    d["paused"] = entry.paused
    if entry.paused_at is not None:
        d["paused_at"] = entry.paused_at
    if entry.resumed_at is not None:
        d["resumed_at"] = entry.resumed_at
    d["job"] = template(entry.job)
    if entry.next_enqueue_at is not None:
        d["next_enqueue_at"] = entry.next_enqueue_at
    if entry.last_enqueue_at is not None:
        d["last_enqueue_at"] = entry.last_enqueue_at
    return d


def template(job) -> dict:
    d = {
        "type": job.type,
        "queue": job.queue,
        "priority": job.priority,
        "payload": orjson.loads(job.payload),
    }
    if job.retry_limit is not None:
        d["retry_limit"] = job.retry_limit
    if job.backoff is not None:
        b = job.backoff
        d["backoff"] = {
            "exponent": b.exponent,
            "base_ms": b.base_ms,
            "jitter_ms": b.jitter_ms,
        }
    if job.retention is not None:
        r = job.retention
        d["retention"] = {
            k: v
            for k, v in (("completed_ms", r.completed_ms), ("dead_ms", r.dead_ms))
            if v is not None
        }
    if job.unique_key is not None:
        d["unique_key"] = job.unique_key
    if job.unique_while is not None:
        d["unique_while"] = job.unique_while
    if job.batch is not None:
        b = job.batch
        d["batch"] = {"key": b.key, "when": b.when, "fold": b.fold}
    return d
