"""``manage.py zizq_worker``: the ``zizq-worker`` command inside a Django
project, with the same options; modules named as arguments are imported
first (``@job`` declarations outside the apps), ``django.tasks``
functions are found by their module path, and stale database connections
are closed around every sync job (``CloseOldConnections``)."""

import sys

from django.core.management.base import BaseCommand

from zizq_client.worker import cli

from ...connections import CloseOldConnections


class Command(BaseCommand):
    help = "Run a Zizq worker for this project's jobs and django.tasks tasks."

    def add_arguments(self, parser) -> None:
        parser.add_argument("modules", nargs="*", help="modules declaring jobs")
        cli.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        argv = [*options["modules"], *self._flags(options)]
        status = cli.main(
            argv,
            command=[sys.executable, sys.argv[0], "zizq_worker"],
            middleware=[CloseOldConnections()],
        )
        if status:
            raise SystemExit(status)

    @staticmethod
    def _flags(options: dict) -> list:
        flags = []
        for name in (
            "url",
            "concurrency",
            "async_concurrency",
            "prefetch",
            "shutdown_timeout",
            "processes",
            "format",
            "worker_id",
            "ca_cert",
            "client_cert",
            "client_key",
            "log_level",
        ):
            if options[name] is not None:
                flags += [f"--{name.replace('_', '-')}", str(options[name])]
        for queue in options["queue"]:
            flags += ["--queue", queue]
        if options["http2"]:
            flags.append("--http2")
        return flags
