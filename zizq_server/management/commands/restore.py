"""``zizq restore ARCHIVE``: extract a backup into a new root directory (spec 9)."""

from django.conf import settings
from django.core.management.base import CommandError

from zizq_server.management.base import ZizqCommand
from zizq_server.tools import ToolError
from zizq_server.tools.restore import restore


class Command(ZizqCommand):
    help = "Extract a backup archive into a new root directory (offline)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--root-dir",
            dest="root_dir",
            metavar="PATH",
            default=None,
            help="root directory to create (default ./zizq-root) [env: ZIZQ_ROOT_DIR]",
        )
        parser.add_argument("archive", metavar="ARCHIVE", help="backup archive to read")

    def handle(self, *args, **options):
        # The raw stream: Django's wrapper ends every write with a newline,
        # which would break the progress bar's in-place redraws.
        root = options["root_dir"] or settings.ZIZQ["root_dir"]
        try:
            restore(options["archive"], root, self.stderr._out)
        except ToolError as exc:
            raise CommandError(str(exc)) from None
