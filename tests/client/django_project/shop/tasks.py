"""django.tasks functions of the test shop; each notes what it did in the
file named by its first argument."""

from django_tasks import task

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
