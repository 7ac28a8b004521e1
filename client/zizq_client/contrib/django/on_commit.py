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

``enqueue_on_commit`` is the same for ``@zizq.job`` declarations
(``job.enqueue_on_commit(...)``): their jobs join the bulk request of the
transaction's other jobs sent through the same client.
"""

from functools import partial

from django.db import DEFAULT_DB_ALIAS, transaction


class CommitBatch:
    """The jobs of one transaction for one client."""

    def __init__(self, client) -> None:
        self.client = client
        self.pending: list = []

    def add(self, params: dict, result, on_sent) -> None:
        self.pending.append((params, result, on_sent))

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if pending:
            jobs = self.client.enqueue_bulk([params for params, _, _ in pending])
            for (_, result, on_sent), job in zip(pending, jobs):
                on_sent(result, job)


def defer(using: str, client, params: dict, result, on_sent) -> None:
    """Send ``params`` with the rest of the current transaction's jobs;
    ``on_sent(result, job)`` once the server has them."""
    connection = transaction.get_connection(using)
    batch = _batch_of(connection, client)
    transaction.on_commit(partial(batch.add, params, result, on_sent), using=using)
    _keep_last(connection, batch)


class Deferred:
    """A job enqueued on commit: ``job`` is the server's answer once sent
    (None until the commit, and for good after a rollback)."""

    __slots__ = ("params", "job")

    def __init__(self, params: dict) -> None:
        self.params = params
        self.job = None


def _record(deferred: Deferred, job) -> None:
    deferred.job = job


def enqueue_on_commit(client, params: dict, using: str | None = None) -> Deferred:
    """Enqueue ``params`` when the transaction on ``using`` commits, or at
    once outside a transaction."""
    using = using or DEFAULT_DB_ALIAS
    deferred = Deferred(params)
    if transaction.get_connection(using).in_atomic_block:
        defer(using, client, params, deferred, _record)
    else:
        _record(deferred, client.enqueue_params(params))
    return deferred


def _flush_entry(connection, client):
    for entry in connection.run_on_commit:
        owner = getattr(entry[1], "__self__", None)
        if isinstance(owner, CommitBatch) and owner.client is client:
            return entry
    return None


def _batch_of(connection, client) -> CommitBatch:
    entry = _flush_entry(connection, client)
    return entry[1].__self__ if entry else CommitBatch(client)


def _keep_last(connection, batch: CommitBatch) -> None:
    entry = _flush_entry(connection, batch.client)
    if entry is not None:
        connection.run_on_commit.remove(entry)
    connection.run_on_commit.append((set(), batch.flush, False))
