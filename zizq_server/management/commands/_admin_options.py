"""The connection options of the admin-API commands (spec 7.1), once.

``backup`` and ``compact`` (and later ``top``) declare the same four
options with the same environment variables; each flag left out falls
back to ``settings.ZIZQ_ADMIN_CLIENT``, then to the default URL.
"""

from django.conf import settings

from zizq_server.tools.admin_client import DEFAULT_URL, AdminEndpoint

_OPTIONS = (
    (
        "--url",
        "url",
        "URL",
        f"Admin API URL (default {DEFAULT_URL}) [env: ZIZQ_ADMIN_URL]",
    ),
    (
        "--ca-cert",
        "ca_cert",
        "PATH",
        "extra trusted CA certificate for https [env: ZIZQ_ADMIN_TLS_CA]",
    ),
    (
        "--client-cert",
        "client_cert",
        "PATH",
        "client certificate for mTLS, with --client-key "
        "[env: ZIZQ_ADMIN_TLS_CLIENT_CERT]",
    ),
    (
        "--client-key",
        "client_key",
        "PATH",
        "client private key for mTLS, with --client-cert "
        "[env: ZIZQ_ADMIN_TLS_CLIENT_KEY]",
    ),
)


def add_arguments(parser) -> None:
    for flag, dest, metavar, text in _OPTIONS:
        parser.add_argument(flag, dest=dest, metavar=metavar, default=None, help=text)


def endpoint(options) -> AdminEndpoint:
    """The endpoint from the flags given, then the environment, then defaults."""
    values = {}
    for _flag, dest, _metavar, _text in _OPTIONS:
        value = options.get(dest)
        if value is None:
            value = settings.ZIZQ_ADMIN_CLIENT.get(dest)
        if value is not None:
            values[dest] = value
    return AdminEndpoint(**values)
