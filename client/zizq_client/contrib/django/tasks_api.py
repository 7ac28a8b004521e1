"""The ``django.tasks`` API from Django itself (6.0+) or its backport."""

try:
    from django.tasks import TaskResultStatus, task_backends
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import Task, TaskContext, TaskError, TaskResult
    from django.tasks.exceptions import TaskResultDoesNotExist
    from django.tasks.signals import task_enqueued
except ImportError:
    from django_tasks import TaskResultStatus, task_backends
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskContext, TaskError, TaskResult
    from django_tasks.exceptions import TaskResultDoesNotExist
    from django_tasks.signals import task_enqueued

__all__ = [
    "BaseTaskBackend", "TaskResultDoesNotExist", "Task", "TaskContext", "TaskError",
    "TaskResult", "TaskResultStatus", "task_backends", "task_enqueued",
]  # fmt: skip
