"""django.tasks functions of the test shop; each notes what it did in the
file named by its first argument."""

from django_tasks import task

import zizq_client as zizq
from tests.client.workload import note

from .models import Order


@task(priority=10)
def fulfil(path: str, order_id: int) -> None:
    note(path, f"fulfil {Order.objects.get(pk=order_id).email}")


@task(queue_name="mail")
async def notify(path: str, order_id: int) -> None:
    note(path, f"notify {order_id}")


@task(takes_context=True)
def failing(context, path: str) -> None:
    note(path, f"attempt {context.attempt}")
    raise ValueError("the warehouse is closed")


@task(
    queue_name="mail",
    retry_limit=2,
    backoff=zizq.Backoff(base="1s", exponent=2, jitter=0),
    retention=zizq.Retention(dead="1d"),
)
def remind(path: str, order_id: int) -> None:
    note(path, f"remind {order_id}")


@task(unique=zizq.Unique(while_="active", key=("order_id",)))
def invoice(path: str, order_id: int, copy: int = 1) -> None:
    note(path, f"invoice {order_id}")
