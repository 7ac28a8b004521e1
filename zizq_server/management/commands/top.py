"""``zizq top``: the live terminal dashboard over the admin API (spec 7)."""

import argparse

from django.core.management.base import CommandError

from zizq_server.management.base import ZizqCommand
from zizq_server.tools import ToolError

from . import _admin_options

DEFAULT_REFRESH_MS = 500


def refresh_rate(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"invalid refresh rate {text!r}: a positive number of ms"
        )
    return value


class Command(ZizqCommand):
    help = "Interactive terminal dashboard (Admin API)."
    # A client of a server elsewhere: this machine's server checks (root
    # dir, compiled extensions) say nothing about it.
    requires_system_checks = ()

    def add_arguments(self, parser):
        _admin_options.add_arguments(parser)
        parser.add_argument(
            "-r",
            "--refresh-rate",
            dest="refresh_rate",
            metavar="MS",
            type=refresh_rate,
            default=DEFAULT_REFRESH_MS,
            help=f"redraw interval in milliseconds (default {DEFAULT_REFRESH_MS})",
        )

    def handle(self, *args, **options):
        from zizq_server.tools import top

        endpoint = _admin_options.endpoint(options)
        try:
            endpoint.check()
            secure = endpoint.display_url().startswith("https:")
            context = endpoint.ssl_context() if secure else None
        except ToolError as exc:
            raise CommandError(str(exc)) from None
        top.run(endpoint.display_url(), context, options["refresh_rate"])
