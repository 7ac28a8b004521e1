"""Steps of the Django test, each run in a fresh process (Django is set up
once per process, and the rest of the suite configures another project):
``enqueue PATH``, ``native PATH``, ``options PATH``, ``connections -`` and
``result ID``; each prints one JSON line."""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.client.django_project.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_tasks import default_task_backend  # noqa: E402
from django_tasks.exceptions import TaskResultDoesNotExist  # noqa: E402

from tests.client.django_project.shop.models import Order  # noqa: E402
from tests.client.django_project.shop.tasks import (  # noqa: E402
    failing,
    fulfil,
    invoice,
    notify,
    remind,
)
from tests.client.workload import record  # noqa: E402
from zizq_client.contrib.django.connections import CloseOldConnections  # noqa: E402


class Rollback(Exception):
    pass


def enqueue(path: str) -> dict:
    call_command("migrate", run_syncdb=True, verbosity=0)
    with transaction.atomic():
        order = Order.objects.create(email="a@b.c")
        first = fulfil.enqueue(path, order.id)
        second = notify.enqueue(path, order.id)
        try:
            with transaction.atomic():
                fulfil.enqueue(path, -1)
                raise Rollback
        except Rollback:
            pass
        inside = [first.id, second.id]
    try:
        with transaction.atomic():
            fulfil.enqueue(path, -2)
            raise Rollback
    except Rollback:
        pass
    third = failing.enqueue(path)
    return {
        "inside": inside,
        "ids": [first.id, second.id, third.id],
        "enqueued_at": first.enqueued_at is not None,
    }


def native(path: str) -> dict:
    """``@zizq.job`` declarations enqueued on commit."""
    with transaction.atomic():
        first = record.enqueue_on_commit(path, 1)
        second = record.enqueue_on_commit(path, 2)
        try:
            with transaction.atomic():
                record.enqueue_on_commit(path, -1)
                raise Rollback
        except Rollback:
            pass
        inside = [first.job, second.job]
    try:
        with transaction.atomic():
            dropped = record.enqueue_on_commit(path, -2)
            raise Rollback
    except Rollback:
        pass
    third = record.enqueue_on_commit(path, 3)
    return {
        "inside": inside,
        "dropped": dropped.job,
        "ids": [first.job.id, second.job.id, third.job.id],
    }


def options(path: str) -> dict:
    """Zizq's options given to ``@task``: one enqueued, one unique task's
    parameters (unique jobs need a pro licence to send)."""
    params = default_task_backend.job_params
    return {
        "id": remind.enqueue(path, 7).id,
        "unique": [params(invoice, [path, 7], {"copy": n}) for n in (1, 2)],
    }


def connections(_: str) -> dict:
    """A sync job under ``CloseOldConnections`` starts on a fresh database
    connection and leaves none open (``CONN_MAX_AGE`` is 0 here)."""
    call_command("migrate", run_syncdb=True, verbosity=0)
    Order.objects.count()
    opened = connection.connection is not None
    inside = []

    def job(_job):
        inside.append(connection.connection is None)
        return Order.objects.count()

    CloseOldConnections().dispatch(None, job)
    return {
        "opened": opened,
        "fresh": inside,
        "closed_after": connection.connection is None,
    }


def result(job_id: str) -> dict:
    try:
        found = default_task_backend.get_result(job_id)
    except TaskResultDoesNotExist:
        return {"status": "missing"}
    return {
        "status": str(found.status),
        "task": found.task.module_path,
        "errors": [e.exception_class_path for e in found.errors],
        "traceback": found.errors[0].traceback if found.errors else "",
    }


if __name__ == "__main__":
    step, argument = sys.argv[1:3]
    steps = {
        "enqueue": enqueue,
        "native": native,
        "options": options,
        "connections": connections,
        "result": result,
    }
    print(json.dumps(steps[step](argument)))
