"""``zizq compact``: ask a running server to compact its storage (spec 10)."""

from django.core.management.base import CommandError

from zizq_server.management.base import ZizqCommand
from zizq_server.tools import ToolError
from zizq_server.tools.compact import compact

from . import _admin_options


class Command(ZizqCommand):
    help = "Ask a running server to compact its storage (Admin API)."

    def add_arguments(self, parser):
        _admin_options.add_arguments(parser)

    def handle(self, *args, **options):
        try:
            compact(_admin_options.endpoint(options), self.stderr._out)
        except ToolError as exc:
            raise CommandError(str(exc)) from None
