"""Enqueue on commit: every job one transaction enqueues goes to the server
as ONE atomic bulk request after it commits, and nothing on rollback.

Each job is registered with ``transaction.on_commit``, so Django itself
drops the jobs of a savepoint that rolls back, and of the whole block on
rollback. Those callbacks only collect; one flush callback per
transaction sends what they collected. Django runs callbacks in the order
they were registered and offers no "after the others" hook, so the flush
entry is kept last in the connection's ``run_on_commit`` list (entries are
``(savepoint ids, callable, robust)`` since Django 4.2), registered with
no savepoint ids so that a savepoint rollback never drops it.
"""

from functools import partial

from django.db import transaction


class CommitBatch:
    """The jobs of one transaction for one client."""

    def __init__(self, client, on_sent) -> None:
        self.client = client
        self.on_sent = on_sent
        self.pending: list = []

    def add(self, params: dict, result) -> None:
        self.pending.append((params, result))

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if pending:
            jobs = self.client.enqueue_bulk([params for params, _ in pending])
            for (_, result), job in zip(pending, jobs):
                self.on_sent(result, job)


def defer(using: str, client, params: dict, result, on_sent) -> None:
    """Send ``params`` with the rest of the current transaction's jobs."""
    connection = transaction.get_connection(using)
    batch = _batch_of(connection, client, on_sent)
    transaction.on_commit(partial(batch.add, params, result), using=using)
    _keep_last(connection, batch)


def _flush_entry(connection, client):
    for entry in connection.run_on_commit:
        owner = getattr(entry[1], "__self__", None)
        if isinstance(owner, CommitBatch) and owner.client is client:
            return entry
    return None


def _batch_of(connection, client, on_sent) -> CommitBatch:
    entry = _flush_entry(connection, client)
    return entry[1].__self__ if entry else CommitBatch(client, on_sent)


def _keep_last(connection, batch: CommitBatch) -> None:
    entry = _flush_entry(connection, batch.client)
    if entry is not None:
        connection.run_on_commit.remove(entry)
    connection.run_on_commit.append((set(), batch.flush, False))
