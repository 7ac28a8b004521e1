"""``zizq restore``: extract a backup archive into a new root directory (spec 9).

Offline, and it never damages anything:

* the target must be missing or an empty directory (checked before and,
  against a race, again at the end);
* everything is extracted into a staging directory beside the target and
  renamed onto it only once the whole archive has been read and checked;
  any failure removes the staging directory, so a refused archive leaves
  nothing behind;
* only directories and regular files under ``zizq-root/`` are written,
  with the prefix stripped. Entries outside the prefix (absolute paths
  included) are skipped, as the spec says; an entry under it that climbs
  out with ``..``, and every link, device or fifo, refuses the archive (a
  backup of ours never holds one). Files are written by this module, never
  by ``tarfile.extract``, and the staging directory holds nothing but what
  was written, so no path can lead outside it;
* the gzip stream is decompressed here rather than by ``tarfile``, so that
  a truncated archive is told apart from a complete one: the gzip trailer
  (length and CRC) must be reached and must match, even when the cut falls
  on a tar block boundary.
"""

import os
import shutil
import tarfile
import tempfile
import zlib

from . import ToolError
from .archive import ROOT
from .progress import bar

READ_BYTES = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class _Truncated(Exception):
    """Raised when the archive ends before its gzip trailer."""


def restore(archive: str, root: str, stderr) -> None:
    """Restore ``archive`` into ``root``; messages go to ``stderr``."""
    _check_target(root)
    if not os.path.isfile(archive):
        raise ToolError(f"backup file not found: {archive}")
    stderr.write(f"Restoring from {archive} to {root}...\n")
    stderr.flush()
    target = os.path.abspath(root)
    parent = os.path.dirname(target)
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(
            prefix=f".{os.path.basename(target)}.restore-", dir=parent
        )
    except OSError as exc:
        raise ToolError(f"cannot create {root}: {exc}") from None
    try:
        _extract(archive, staging, stderr)
        _move_into_place(staging, target, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stderr.write("Restore complete.\n")


def _check_target(root: str) -> None:
    if not os.path.lexists(root):
        return
    if not os.path.isdir(root) or os.path.islink(root):
        raise ToolError(f"target {root} exists and is not a directory")
    if os.listdir(root):
        raise ToolError(
            f"target directory {root} is not empty — remove it first or use "
            "--root-dir to specify a different location"
        )


def _move_into_place(staging: str, target: str, root: str) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp made it private
    try:
        if os.path.lexists(target):
            _check_target(root)
            os.rmdir(target)
        os.rename(staging, target)
    except OSError as exc:
        raise ToolError(f"cannot create {root}: {exc}") from None


def _extract(archive: str, staging: str, stderr) -> None:
    try:
        raw = open(archive, "rb")
    except OSError as exc:
        raise ToolError(f"cannot read {archive}: {exc}") from None
    with raw, bar(stderr, os.path.getsize(archive), "restore") as progress:
        if raw.read(2) != _GZIP_MAGIC:
            raise ToolError(f"{archive} is not a gzip archive")
        raw.seek(0)
        reader = _Gunzip(raw, progress.update)
        try:
            written = _extract_entries(reader, staging, archive)
            while reader.read(READ_BYTES):  # the rest, up to the gzip trailer
                pass
        except _Truncated:
            raise ToolError(f"{archive} is truncated") from None
        except (zlib.error, tarfile.TarError, EOFError) as exc:
            raise ToolError(f"{archive} is corrupt: {exc}") from None
        except OSError as exc:
            raise ToolError(f"cannot write into {staging}: {exc}") from None
    if not written:
        raise ToolError(f"{archive} holds no entries under {ROOT}/")


def _extract_entries(reader, staging: str, archive: str) -> int:
    """Write the archive's entries under ``zizq-root/``; returns how many."""
    written = 0
    with tarfile.open(fileobj=reader, mode="r|") as tar:
        for member in tar:
            relative = _relative(member.name, archive)
            if not relative:
                continue
            destination = os.path.join(staging, relative)
            if member.isdir():
                os.makedirs(destination, exist_ok=True)
            elif member.isreg():
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                with tar.extractfile(member) as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out, READ_BYTES)
            else:
                raise ToolError(
                    f"{archive} holds an entry that is not a file or directory: "
                    f"{member.name}"
                )
            written += 1
    return written


def _relative(name: str, archive: str) -> str | None:
    """The entry's path inside the root, or None when it is outside the
    prefix; ``ToolError`` when it climbs out of the root."""
    if name.startswith("/"):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or parts[0] != ROOT:
        return None
    rest = parts[1:]
    if ".." in rest:
        raise ToolError(f"{archive} holds an entry outside {ROOT}/: {name}")
    return os.path.join(*rest) if rest else None


class _Gunzip:
    """A readable gzip stream that raises ``_Truncated`` before its end."""

    def __init__(self, raw, progress) -> None:
        self._raw = raw
        self._progress = progress
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = READ_BYTES
        while not self._zlib.eof:
            data = self._zlib.unconsumed_tail
            if not data:
                data = self._raw.read(READ_BYTES)
                self._progress(len(data))
                if not data:
                    raise _Truncated()
            out = self._zlib.decompress(data, size)
            if out:
                return out
        return b""
