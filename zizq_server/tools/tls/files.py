"""The output directory of ``zizq tls``: names, modes and progress lines.

Every file is written whole through a temporary file in the same directory
and renamed into place, so a server watching its certificate (``serve.tls``
reloads on change) never reads half a file. Private keys are created with
mode 0600, certificates 0644. Each file written or skipped prints one line
on ``out`` (spec 11): ``  wrote: <path>`` or ``  skip: <path> (already
exists)``, the path as the out dir names it.
"""

import os
import tempfile
from dataclasses import dataclass

from .. import ToolError
from .certs import Issued, check_ca, load_pem_pair

KEY_MODE = 0o600
CERT_MODE = 0o644


@dataclass(frozen=True)
class PairPaths:
    """Where one certificate and its key live."""

    cert: str
    key: str

    @classmethod
    def named(cls, out_dir: str, prefix: str) -> "PairPaths":
        return cls(
            os.path.join(out_dir, f"{prefix}-cert.pem"),
            os.path.join(out_dir, f"{prefix}-key.pem"),
        )

    def any_exists(self) -> bool:
        return os.path.exists(self.cert) or os.path.exists(self.key)

    def both_exist(self) -> bool:
        return os.path.exists(self.cert) and os.path.exists(self.key)

    def write(self, issued: Issued, out) -> None:
        write_file(self.cert, issued.cert_pem(), CERT_MODE)
        out.write(f"  wrote: {self.cert}\n")
        write_file(self.key, issued.key_pem(), KEY_MODE)
        out.write(f"  wrote: {self.key}\n")

    def skip(self, out) -> None:
        out.write(f"  skip: {self.cert} (already exists)\n")
        out.write(f"  skip: {self.key} (already exists)\n")


def make_out_dir(out_dir: str) -> None:
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise ToolError(f"cannot create {out_dir}: {exc.strerror}") from None


def write_file(path: str, data: bytes, mode: int) -> None:
    directory = os.path.dirname(path) or "."
    try:
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".zizq-tls-")
        try:
            os.fchmod(descriptor, mode)
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise ToolError(f"cannot write {path}: {exc.strerror}") from None


def read_ca(paths: PairPaths) -> Issued:
    """The CA at ``paths``; ``ToolError`` naming the file that is bad."""
    cert_pem = _read(paths.cert, "CA cert")
    key_pem = _read(paths.key, "CA key")
    try:
        ca = load_pem_pair(cert_pem, key_pem)
        check_ca(ca)
    except ValueError as exc:
        raise ToolError(f"invalid CA {paths.cert}: {exc}") from None
    return ca


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise ToolError(f"failed to read {what} {path}: {os_error(exc)}") from None


def os_error(exc: OSError) -> str:
    """An OS error as the real server words it: ``<text> (os error <n>)``."""
    if exc.errno is None:
        return str(exc)
    return f"{exc.strerror} (os error {exc.errno})"
