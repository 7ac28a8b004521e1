"""Running ``django.tasks`` functions in the Zizq worker.

A resolver maps a job type that is a task's ``module_path`` onto the task;
sync tasks run in the worker's threads (``connections.CloseOldConnections``
closes stale database connections around them, as around every sync job),
async tasks on the loop. ``takes_context`` tasks get a ``TaskContext``
whose result reports the job's id and attempt.
"""

from inspect import iscoroutinefunction

from django.utils.module_loading import import_string

from ...context import current_job
from ...jobs import arguments_of
from .tasks_api import Task, TaskContext, TaskResult, TaskResultStatus


class TaskTarget:
    """A ``django.tasks`` task as something the dispatcher can run."""

    throws = ()

    def __init__(self, task: Task) -> None:
        self.task = task
        self.type_name = task.module_path
        self.qualified_name = task.module_path
        self.is_async = iscoroutinefunction(task.func)

    def invoke(self, payload):
        args, kwargs = arguments_of(payload)
        if self.task.takes_context:
            args = [self._context(args, kwargs), *args]
        return self.task.func(*args, **kwargs)

    def _context(self, args, kwargs) -> TaskContext:
        job = current_job()
        result = TaskResult(
            task=self.task,
            id=job.id,
            status=TaskResultStatus.RUNNING,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=list(args),
            kwargs=dict(kwargs),
            backend=self.task.backend,
            errors=[],
            worker_ids=[job.worker_id] * (job.attempts + 1),
        )
        return TaskContext(task_result=result)


def resolve_task(type_name: str):
    """The ``TaskTarget`` for a task's module path, else None."""
    try:
        found = import_string(type_name)
    except ImportError:
        return None
    return TaskTarget(found) if isinstance(found, Task) else None
