"""The ``-k``/``--license-key`` value, resolved and verified once per command.

The value is a raw token, or ``@path`` for a file holding one (contents
trimmed); ``--license-public-key PATH`` adds an issuer key to the trusted
set. ``load`` is what every command runs before it starts (the ``zizq``
script and ``ZizqCommand`` alike, ADMIN_AND_CLI.md 1): its ``LicenceError``
carries the whole ``Error:`` text, e.g. ``invalid license key: license
validation failed: InvalidSignature``. The result keeps what the serve
command needs later: the licence, the file to watch, and the keys the
watcher verifies new tokens with.
"""

import dataclasses

from .verify import (
    Licence,
    LicenceError,
    embedded_key,
    os_error,
    read_public_key,
    verify,
)


@dataclasses.dataclass(frozen=True)
class LicenceKey:
    """A start-up licence: None for the free tier."""

    licence: Licence | None
    # The trimmed token, and the file it came from (None for a raw token).
    token: str | None = None
    path: str | None = None
    keys: tuple = ()
    # The operator's extra issuer key file, when one is trusted.
    public_key_path: str | None = None


def load(value: str | None, public_key_path: str | None, now_ms: int) -> LicenceKey:
    """Resolve and verify ``value``; raise ``LicenceError`` when it fails."""
    keys = trusted_keys(public_key_path)
    if not value:
        return LicenceKey(None, keys=keys, public_key_path=public_key_path)
    path = value[1:] if value.startswith("@") else None
    token = value if path is None else _read_startup_token(path)
    try:
        licence = verify(token, keys, now_ms)
    except LicenceError as exc:
        raise LicenceError(f"invalid license key: {exc.message}") from None
    return LicenceKey(licence, token, path, keys, public_key_path)


def trusted_keys(public_key_path: str | None) -> tuple:
    """The embedded issuer key, then the operator's, if any."""
    if public_key_path is None:
        return (embedded_key(),)
    return (embedded_key(), read_public_key(public_key_path))


def read_token(path: str) -> str:
    """The trimmed token in ``path``; ``OSError`` or ``UnicodeError`` if unreadable."""
    with open(path, encoding="utf-8") as file:
        return file.read().strip()


def describe_unreadable(exc: Exception) -> str:
    """Why ``read_token`` failed, in the real server's words."""
    if isinstance(exc, UnicodeError):
        return "stream did not contain valid UTF-8"
    return os_error(exc)


def _read_startup_token(path: str) -> str:
    try:
        return read_token(path)
    except (OSError, UnicodeError) as exc:
        raise LicenceError(
            f"failed to read license key from {path}: {describe_unreadable(exc)}"
        ) from None
