"""The four ``zizq tls`` subcommands (spec 11.1-11.4), one function each.

``init`` is forgiving, for re-running: an existing CA in the out dir is
reused, and an existing server or client pair is skipped, so a second run
with a new ``--client`` writes only that client's pair. A pair is skipped
only when both its files exist; with one of them missing both are written
again (a lone certificate or key is of no use). ``ca``, ``server-cert`` and
``client-cert`` are strict: existing files are an error unless
``--overwrite``. Progress lines go to ``out``; failures are ``ToolError``.
"""

import os
from dataclasses import dataclass

from .. import ToolError
from . import certs
from .files import PairPaths, make_out_dir, read_ca

DEFAULT_CA_CN = "Zizq CA"
DEFAULT_SERVER_CN = "Zizq Server"
DEFAULT_SANS = ("localhost",)
DEFAULT_DAYS = 365
DEFAULT_CA_DAYS = 3650


@dataclass(frozen=True)
class InitOptions:
    out_dir: str
    sans: tuple[str, ...] = DEFAULT_SANS
    days: int = DEFAULT_DAYS
    ca_days: int = DEFAULT_CA_DAYS
    cn: str = DEFAULT_CA_CN
    ca_cert: str | None = None
    ca_key: str | None = None
    clients: tuple[str, ...] = ()
    overwrite: bool = False


def init(options: InitOptions, out) -> None:
    make_out_dir(options.out_dir)
    ca = _init_ca(options, out)
    server = PairPaths.named(options.out_dir, "server")
    out.write(f"Generating server certificate (SANs: {', '.join(options.sans)}):\n")
    if server.both_exist() and not options.overwrite:
        server.skip(out)
    else:
        issued = certs.make_server_cert(
            ca, DEFAULT_SERVER_CN, list(options.sans), options.days
        )
        server.write(issued, out)
    for name in options.clients:
        out.write(f"Generating client certificate ({name}):\n")
        client = PairPaths.named(options.out_dir, f"client-{name}")
        if client.both_exist() and not options.overwrite:
            client.skip(out)
        else:
            client.write(certs.make_client_cert(ca, name, options.days), out)


def _init_ca(options: InitOptions, out) -> certs.Issued:
    if (options.ca_cert is None) != (options.ca_key is None):
        raise ToolError("--ca-cert and --ca-key must be provided together")
    if options.ca_cert is not None:
        out.write(
            f"Using external CA:\n  cert: {options.ca_cert}\n  key:  {options.ca_key}\n"
        )
        return read_ca(PairPaths(options.ca_cert, options.ca_key))
    paths = PairPaths.named(options.out_dir, "ca")
    if paths.both_exist() and not options.overwrite:
        out.write("CA already exists, reusing:\n")
        paths.skip(out)
        return read_ca(paths)
    return _write_ca(paths, options.cn, options.ca_days, out)


def ca(out_dir: str, cn: str, days: int, overwrite: bool, out) -> None:
    paths = PairPaths.named(out_dir, "ca")
    if paths.any_exists() and not overwrite:
        raise ToolError(
            f"CA files already exist in {out_dir}. Use --overwrite to replace them."
        )
    make_out_dir(out_dir)
    _write_ca(paths, cn, days, out)


def server_cert(
    out_dir: str,
    sans: tuple[str, ...],
    days: int,
    cn: str,
    ca_paths: PairPaths,
    overwrite: bool,
    out,
) -> None:
    paths = PairPaths.named(out_dir, "server")
    if paths.any_exists() and not overwrite:
        raise ToolError(
            f"Server cert files already exist in {out_dir}. "
            "Use --overwrite to replace them."
        )
    authority = read_ca(ca_paths)
    make_out_dir(out_dir)
    out.write(f"Generating server certificate (SANs: {', '.join(sans)}):\n")
    paths.write(certs.make_server_cert(authority, cn, list(sans), days), out)


def client_cert(
    out_dir: str, name: str, days: int, ca_paths: PairPaths, overwrite: bool, out
) -> None:
    paths = PairPaths.named(out_dir, f"client-{name}")
    if paths.any_exists() and not overwrite:
        raise ToolError(
            f"Client cert files for '{name}' already exist in {out_dir}. "
            "Use --overwrite to replace them."
        )
    authority = read_ca(ca_paths)
    make_out_dir(out_dir)
    out.write(f"Generating client certificate ({name}):\n")
    paths.write(certs.make_client_cert(authority, name, days), out)


def default_ca_paths(out_dir: str, ca_cert: str | None, ca_key: str | None):
    """``--ca-cert``/``--ca-key``, each defaulting to the out dir's CA file."""
    return PairPaths(
        ca_cert or os.path.join(out_dir, "ca-cert.pem"),
        ca_key or os.path.join(out_dir, "ca-key.pem"),
    )


def _write_ca(paths: PairPaths, cn: str, days: int, out) -> certs.Issued:
    out.write(f"Generating CA ({cn}):\n")
    issued = certs.make_ca(cn, days)
    paths.write(issued, out)
    return issued
