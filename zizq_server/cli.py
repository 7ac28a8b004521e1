"""The ``zizq`` console script: global flags, the default command, Django.

``zizq [--root-dir PATH] [-k|--license-key KEY] [COMMAND] [OPTIONS]``
(spec/ADMIN_AND_CLI.md section 1). The global flags may stand before or
after the command name; they are moved into ``ZIZQ_ROOT_DIR`` and
``ZIZQ_LICENSE_KEY`` before Django loads the settings, as Django's own
``handle_default_options`` does for ``--settings``, so every command sees
them through settings like any other environment value. Without a command
name ``serve`` runs, with the global flags still accepted (the real server
rejects them there; the spec recommends this superset). The command itself
runs through Django's ``ManagementUtility``, exactly as ``manage.py`` runs
it, so ``zizq serve ...`` and ``python manage.py serve ...`` behave alike.

The licence key is verified here, before the command is even looked up, so
that a bad key fails every command with the same ``Error:`` line and exit
status 1, a command that does not exist yet included (ADMIN_AND_CLI.md 1).
``--license-public-key`` travels like the global flags (into
``ZIZQ_LICENSE_PUBLIC_KEY``), because the key it names decides whether the
``-k`` token is valid. ``ZizqCommand`` verifies the key again, for
``manage.py``, which does not pass through here.
"""

import os
import sys

from zizq_server import __version__

COMMANDS = {
    "serve": "run the server (default)",
    "top": "interactive terminal dashboard",
    "tls": "generate TLS certificates",
    "backup": "download an online backup from a running server",
    "restore": "extract a backup archive into a new root directory",
    "compact": "ask a running server to compact its storage",
    "createsuperuser": "create a user of the Django admin (/admin/)",
}
_GLOBAL_FLAGS = {
    "--root-dir": "ZIZQ_ROOT_DIR",
    "--license-key": "ZIZQ_LICENSE_KEY",
    "-k": "ZIZQ_LICENSE_KEY",
    "--license-public-key": "ZIZQ_LICENSE_PUBLIC_KEY",
}
_USAGE = "usage: zizq [--root-dir PATH] [-k|--license-key KEY] [COMMAND] [OPTIONS]"


class UsageError(Exception):
    """Raised when the top-level command line cannot be understood."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``zizq`` console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        args, environment = take_global_flags(args)
        command = _command(args)
    except UsageError as exc:
        sys.stderr.write(f"{_USAGE}\nzizq: error: {exc}\n")
        sys.exit(2)
    if command is None:
        return
    os.environ.update(environment)
    os.environ["DJANGO_SETTINGS_MODULE"] = "zizq_server.settings"
    _check_licence_key()
    from django.core.management import ManagementUtility

    ManagementUtility(["zizq", *(args or [command])]).execute()


def take_global_flags(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split ``--root-dir``/``-k`` (anywhere before ``--``) from ``args``.

    Returns the remaining arguments and the environment they set.
    """
    rest: list[str] = []
    environment: dict[str, str] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            rest.extend(args[position:])
            break
        flag, equals, value = arg.partition("=")
        if arg.startswith("-k") and len(arg) > 2:
            flag, equals, value = "-k", "=", arg[2:]
        if flag not in _GLOBAL_FLAGS:
            rest.append(arg)
        elif equals:
            environment[_GLOBAL_FLAGS[flag]] = value
        elif position + 1 < len(args):
            position += 1
            environment[_GLOBAL_FLAGS[flag]] = args[position]
        else:
            raise UsageError(f"a value is required for '{flag}'")
        position += 1
    return rest, environment


def _check_licence_key() -> None:
    """Exit 1 with ``Error: <msg>`` unless the licence key verifies."""
    from queue_core.clock import now_ms
    from zizq_server import licence, settings

    try:
        licence.load(
            settings.ZIZQ["license_key"], settings.ZIZQ["license_public_key"], now_ms()
        )
    except licence.LicenceError as exc:
        sys.stderr.write(f"Error: {exc.message}\n")
        sys.exit(1)


def _command(args: list[str]) -> str | None:
    """The command to run, or None when a top-level flag was answered here."""
    first = args[0] if args else "serve"
    if first in COMMANDS:
        return first
    if first in ("-V", "--version"):
        print(f"zizq {__version__}")
        return None
    if first in ("-h", "--help"):
        print(_help())
        return None
    if first.startswith("-"):
        raise UsageError(
            f"unexpected argument '{first}' (serve options go after 'serve': "
            f"zizq serve {first} ...)"
        )
    raise UsageError(f"unrecognized subcommand '{first}'")


def _help() -> str:
    commands = "\n".join(f"  {name:<9}{text}" for name, text in COMMANDS.items())
    return (
        f"Zizq {__version__}: a persistent HTTP job-queue server\n\n{_USAGE}\n\n"
        f"Commands:\n{commands}\n\n"
        "Options:\n"
        "  --root-dir PATH          root directory (default ./zizq-root) "
        "[env: ZIZQ_ROOT_DIR]\n"
        "  -k, --license-key KEY    licence JWT or @/path/to/file "
        "[env: ZIZQ_LICENSE_KEY]\n"
        "  --license-public-key PATH\n"
        "                           also trust licences signed by this "
        "Ed25519 key [env: ZIZQ_LICENSE_PUBLIC_KEY]\n"
        "  -h, --help               print help (zizq COMMAND --help for a command)\n"
        "  -V, --version            print version"
    )


if __name__ == "__main__":
    main()
