"""``ZizqTask``: the backend's ``task_class``, so that ``@task(...)`` takes
Zizq's per-job options where ``django.tasks`` passes a decorator's extra
keywords on to it (Django 6.1, and the ``django-tasks`` backport):

    @task(queue_name="emails", retry_limit=5,
          backoff=zizq.Backoff(base="10s"), unique=zizq.Unique(key=("user_id",)))
    def send_welcome(user_id: int) -> None: ...

Where they are not passed on (Django 6.0), the server's defaults apply.
"""

from dataclasses import dataclass

from ...jobs import unique_key_for
from ...models import Backoff, Retention, Unique
from .tasks_api import Task


@dataclass(frozen=True, slots=True, kw_only=True)
class ZizqTask(Task):
    retry_limit: int | None = None
    backoff: Backoff | None = None
    retention: Retention | None = None
    unique: Unique | None = None


def zizq_options(task, payload: dict) -> dict:
    """The Zizq options of ``task`` (any ``Task``: one made for another
    backend and moved here with ``using()`` has none)."""
    unique = getattr(task, "unique", None)
    options = {
        "retry_limit": getattr(task, "retry_limit", None),
        "backoff": getattr(task, "backoff", None),
        "retention": getattr(task, "retention", None),
    }
    if unique is not None:
        options["unique_key"] = unique_key_for(
            task.module_path, task.func, unique.key, payload
        )
        options["unique_while"] = unique.while_
    return options
