"""ZizqCommand: Django's BaseCommand with the exit behaviour of the spec.

This is the one place where failures become exit statuses
(spec/ADMIN_AND_CLI.md section 1):

* ``CommandError`` and the engine's ``QueueError`` print ``Error: <msg>`` on
  stderr and exit 1 (Django would print ``CommandError: <msg>``);
* command-line syntax and value errors are argparse usage errors, exit 2
  (Django's parser already exits that way when run from a real argv);
* the licence key (``-k``/``ZIZQ_LICENSE_KEY``, with the extra issuer key of
  ``--license-public-key``/``ZIZQ_LICENSE_PUBLIC_KEY``) is verified before
  any command runs, so a bad key fails every command alike, as it does in
  the ``zizq`` script (which checks it too, for commands Django does not
  run); the result is ``self.licence_key`` for the command to use;
* ``--version`` prints ``zizq <version>``, not Django's version;
* Django's own options (``--settings``, ``-v`` ...) still parse, because
  ``manage.py`` passes them, but are hidden from ``--help``.
"""

import argparse
import sys

from django.conf import settings
from django.core.management.base import (
    BaseCommand,
    CommandError,
    SystemCheckError,
    handle_default_options,
)

from queue_core.clock import now_ms
from queue_core.errors import QueueError
from zizq_server import __version__, licence


class ZizqCommand(BaseCommand):
    suppressed_base_arguments = {
        "--version",
        "--verbosity",
        "--settings",
        "--pythonpath",
        "--traceback",
        "--no-color",
        "--force-color",
        "--skip-checks",
    }

    def get_version(self) -> str:
        return f"zizq {__version__}"

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # BaseCommand adds --skip-checks without add_base_argument(), so
        # suppressed_base_arguments alone does not hide it.
        for action in parser._actions:
            if self.suppressed_base_arguments.intersection(action.option_strings):
                action.help = argparse.SUPPRESS
        return parser

    def execute(self, *args, **options):
        self.licence_key = load_licence_key(options)
        return super().execute(*args, **options)

    def run_from_argv(self, argv: list[str]) -> None:
        self._called_from_command_line = True
        parser = self.create_parser(argv[0], argv[1])
        options = parser.parse_args(argv[2:])
        handle_default_options(options)
        cmd_options = vars(options)
        args = cmd_options.pop("args", ())
        try:
            self.execute(*args, **cmd_options)
        except SystemCheckError as exc:
            self.stderr.write(str(exc), lambda text: text)
            sys.exit(1)
        except (CommandError, QueueError) as exc:
            if options.traceback:
                raise
            self.stderr.write(f"Error: {exc}")
            sys.exit(getattr(exc, "returncode", 1))


def load_licence_key(options) -> "licence.LicenceKey":
    """The verified licence of this run: a command's own flags (``serve``
    has ``-k`` and ``--license-public-key`` for ``manage.py``) win over the
    settings. Raises ``CommandError`` with the spec's message."""
    value = options.get("license_key") or settings.ZIZQ["license_key"]
    public_key = (
        options.get("license_public_key") or settings.ZIZQ["license_public_key"]
    )
    try:
        return licence.load(value, public_key, now_ms())
    except licence.LicenceError as exc:
        raise CommandError(exc.message) from None
