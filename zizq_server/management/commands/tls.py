"""``zizq tls init | ca | server-cert | client-cert`` (spec 11).

Parses each subcommand's flags and calls ``tools.tls.operations``; the out
dir defaults to ``<root-dir>/tls`` (the global ``--root-dir``, read through
settings like every command's). Progress goes to stdout; a ``ToolError``
becomes ``Error: <msg>`` and exit 1.
"""

import argparse
import os

from django.conf import settings
from django.core.management.base import CommandError

from zizq_server.management.base import ZizqCommand
from zizq_server.tools import ToolError
from zizq_server.tools.tls import operations as ops


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise argparse.ArgumentTypeError(f"invalid number of days: {text!r}")
    return days


def _common(parser, days: int) -> None:
    parser.add_argument(
        "--days", type=_days, default=days, help=f"validity in days (default {days})"
    )
    parser.add_argument(
        "--out-dir", metavar="DIR", help="output directory (default <root-dir>/tls)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="overwrite existing files"
    )


def _ca_files(parser, help_suffix: str) -> None:
    parser.add_argument(
        "--ca-cert", metavar="PATH", help=f"CA certificate{help_suffix}"
    )
    parser.add_argument(
        "--ca-key", metavar="PATH", help=f"CA private key{help_suffix}"
    )


def _sans(parser) -> None:
    parser.add_argument(
        "--san",
        action="append",
        metavar="NAME",
        help="server certificate SAN, repeatable (default localhost)",
    )


class Command(ZizqCommand):
    help = "Generate TLS certificates (a CA, server and client certificates)."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", metavar="COMMAND")
        commands.required = True
        init = commands.add_parser("init", help="CA, server and client certs at once")
        _sans(init)
        _common(init, ops.DEFAULT_DAYS)
        init.add_argument(
            "--ca-days",
            type=_days,
            default=ops.DEFAULT_CA_DAYS,
            help=f"validity of a generated CA (default {ops.DEFAULT_CA_DAYS})",
        )
        init.add_argument(
            "--cn", default=ops.DEFAULT_CA_CN, help="CA common name (default Zizq CA)"
        )
        _ca_files(init, ": use an existing CA instead of generating one")
        init.add_argument(
            "--client",
            action="append",
            metavar="NAME",
            help="also generate a client certificate, repeatable",
        )
        ca = commands.add_parser("ca", help="a CA certificate and key")
        _common(ca, ops.DEFAULT_CA_DAYS)
        ca.add_argument(
            "--cn", default=ops.DEFAULT_CA_CN, help="CA common name (default Zizq CA)"
        )
        server = commands.add_parser("server-cert", help="a server certificate")
        _sans(server)
        _common(server, ops.DEFAULT_DAYS)
        server.add_argument(
            "--cn",
            default=ops.DEFAULT_SERVER_CN,
            help="common name (default Zizq Server)",
        )
        _ca_files(server, " (default <out-dir>/ca-*.pem)")
        client = commands.add_parser("client-cert", help="a client certificate (mTLS)")
        client.add_argument(
            "--name", required=True, help="client name: CN and file prefix"
        )
        _common(client, ops.DEFAULT_DAYS)
        _ca_files(client, " (default <out-dir>/ca-*.pem)")

    def handle(self, *args, **options):
        out_dir = options["out_dir"] or os.path.join(settings.ZIZQ["root_dir"], "tls")
        out = self.stdout._out
        try:
            self._run(options["action"], out_dir, options, out)
        except ToolError as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def _run(action: str, out_dir: str, options, out) -> None:
        sans = tuple(options.get("san") or ops.DEFAULT_SANS)
        if action == "init":
            ops.init(
                ops.InitOptions(
                    out_dir=out_dir,
                    sans=sans,
                    days=options["days"],
                    ca_days=options["ca_days"],
                    cn=options["cn"],
                    ca_cert=options["ca_cert"],
                    ca_key=options["ca_key"],
                    clients=tuple(options["client"] or ()),
                    overwrite=options["overwrite"],
                ),
                out,
            )
        elif action == "ca":
            ops.ca(out_dir, options["cn"], options["days"], options["overwrite"], out)
        else:
            ca_paths = ops.default_ca_paths(
                out_dir, options["ca_cert"], options["ca_key"]
            )
            if action == "server-cert":
                ops.server_cert(
                    out_dir,
                    sans,
                    options["days"],
                    options["cn"],
                    ca_paths,
                    options["overwrite"],
                    out,
                )
            else:
                ops.client_cert(
                    out_dir,
                    options["name"],
                    options["days"],
                    ca_paths,
                    options["overwrite"],
                    out,
                )
