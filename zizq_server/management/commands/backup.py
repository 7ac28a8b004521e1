"""``zizq backup FILENAME``: save an online backup of a running server (spec 8)."""

from django.core.management.base import CommandError

from zizq_server.management.base import ZizqCommand
from zizq_server.tools import ToolError
from zizq_server.tools.backup import backup

from . import _admin_options


class Command(ZizqCommand):
    help = "Download an online backup from a running server (Admin API)."

    def add_arguments(self, parser):
        _admin_options.add_arguments(parser)
        parser.add_argument("filename", metavar="FILENAME", help="archive to write")

    def handle(self, *args, **options):
        # The raw stream: Django's wrapper ends every write with a newline,
        # which would break the progress bar's in-place redraws.
        try:
            backup(
                _admin_options.endpoint(options), options["filename"], self.stderr._out
            )
        except ToolError as exc:
            raise CommandError(str(exc)) from None
