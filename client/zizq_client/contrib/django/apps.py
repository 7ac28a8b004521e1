"""The app config: installing the app registers the task resolver, so the
worker runs ``django.tasks`` functions, and provides ``zizq_worker``."""

from django.apps import AppConfig


class ZizqClientConfig(AppConfig):
    name = "zizq_client.contrib.django"
    label = "zizq_client"
    verbose_name = "Zizq client"

    def ready(self) -> None:
        from ...registry import add_resolver
        from .runner import resolve_task

        add_resolver(resolve_task)
