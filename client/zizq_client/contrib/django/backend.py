"""``ZizqBackend``: ``django.tasks`` functions enqueued on a Zizq server.

Settings::

    TASKS = {"default": {
        "BACKEND": "zizq_client.contrib.django.backend.ZizqBackend",
        "QUEUES": ["default", "emails"],
        "OPTIONS": {"url": "http://127.0.0.1:7890", "enqueue_on_commit": True},
    }}

OPTIONS are the client's (``url``, ``format``, ``http2``, ``timeout``,
``ca_cert``, ``client_cert``, ``client_key``, ...) plus ``enqueue_on_commit``
(default True: inside ``atomic()`` the jobs wait for the commit and go as
one bulk request) and ``database`` (the alias whose transactions count).

The job type is the task's ``module_path`` and the payload the Ruby-shaped
``{"args", "kwargs"}``, so the same worker runs these and ``@job`` jobs.
Tasks are ``ZizqTask``s, which take ``retry_limit``, ``backoff``,
``retention`` and ``unique`` in ``@task(...)``.
Priorities -100..100 map linearly onto Zizq's 65535..0 (Zizq serves low
numbers first). Results report status and errors, read back from the
server; Zizq keeps no return values, and a job is gone once its retention
ends (then ``TaskResultDoesNotExist``).
"""

from datetime import datetime, timezone

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils.module_loading import import_string

from ...client import Client
from ...errors import NotFound
from ...jobs import arguments_of
from ...params import job_params
from ...transport import ClientConfig
from . import on_commit
from .zizq_task import ZizqTask, zizq_options
from .tasks_api import (
    BaseTaskBackend,
    TaskResultDoesNotExist,
    TaskError,
    TaskResult,
    TaskResultStatus,
    task_enqueued,
)

STATUSES = {
    "scheduled": TaskResultStatus.READY,
    "ready": TaskResultStatus.READY,
    "in_flight": TaskResultStatus.RUNNING,
    "completed": TaskResultStatus.SUCCESSFUL,
    "dead": TaskResultStatus.FAILED,
}


def zizq_priority(priority: int) -> int:
    """django.tasks' -100 (last) .. 100 (first) onto Zizq's 65535 .. 0."""
    return round((100 - priority) * 65535 / 200)


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, timezone.utc)


class ZizqBackend(BaseTaskBackend):
    task_class = ZizqTask
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        options = {key.lower(): value for key, value in self.options.items()}
        self.enqueue_on_commit = options.pop("enqueue_on_commit", True)
        self.database = options.pop("database", DEFAULT_DB_ALIAS)
        self.config = ClientConfig(**options)
        self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.config)
        return self._client

    def job_params(self, task, args, kwargs) -> dict:
        payload = {"args": list(args), "kwargs": dict(kwargs)}
        return job_params(
            queue=task.queue_name,
            type=task.module_path,
            payload=payload,
            priority=zizq_priority(task.priority),
            ready_at=task.run_after,
            **zizq_options(task, payload),
        )

    def enqueue(self, task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        params = self.job_params(task, args, kwargs)
        result = TaskResult(
            task=task,
            id="",
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=list(args),
            kwargs=dict(kwargs),
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        deferred = transaction.get_connection(self.database).in_atomic_block
        if self.enqueue_on_commit and deferred:
            on_commit.defer(self.database, self.client, params, result, self._sent)
        else:
            self._sent(result, self.client.enqueue_params(params))
        return result

    def _sent(self, result: TaskResult, job) -> None:
        object.__setattr__(result, "id", job.id)
        object.__setattr__(result, "enqueued_at", datetime.now(timezone.utc))
        task_enqueued.send(type(self), task_result=result)

    def get_result(self, result_id: str) -> TaskResult:
        try:
            job = self.client.get(result_id)
            errors = self.client.errors(result_id)
        except NotFound:
            raise TaskResultDoesNotExist(result_id) from None
        args, kwargs = arguments_of(job.payload)
        finished = job.completed_at or (job.failed_at if job.status == "dead" else None)
        return TaskResult(
            task=import_string(job.type),
            id=job.id,
            status=STATUSES[job.status],
            enqueued_at=_time(enqueued_at_ms(job.id)),
            started_at=_time(job.dequeued_at),
            last_attempted_at=_time(job.dequeued_at),
            finished_at=_time(finished),
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[_task_error(e) for e in errors],
            worker_ids=[],
        )


def enqueued_at_ms(job_id: str) -> int:
    """A SCRU128 id's first 48 bits are its creation time in ms."""
    return int(job_id, 36) >> 80


def _task_error(record) -> TaskError:
    return TaskError(
        exception_class_path=record.error_type or "builtins.Exception",
        traceback=record.backtrace or record.message,
    )
