"""``zizq backup``: download an online backup from a running server (spec 8).

The body is streamed into a temporary file beside ``FILENAME`` and renamed
onto it only once the server has ended the response properly, so an
interrupted backup (server gone, disk full, connection cut) never leaves a
short archive under the name the operator asked for. Missing parent
directories of ``FILENAME`` are created.
"""

import http.client
import os
import tempfile

from . import ToolError
from .admin_client import AdminEndpoint, describe
from .progress import bar, human_size

READ_BYTES = 256 * 1024


def backup(endpoint: AdminEndpoint, filename: str, stderr) -> int:
    """Save the server's backup at ``filename``; returns its size in bytes.

    Progress and the spec's messages go to ``stderr``.
    """
    endpoint.check()
    stderr.write(f"Requesting backup from {endpoint.display_url()}...\n")
    stderr.flush()
    response = endpoint.post("backup", "backup")
    try:
        size = _save(response, filename, stderr)
    finally:
        response.close()
    stderr.write(f"Backup saved to {filename} ({human_size(size)})\n")
    return size


def _save(response, filename: str, stderr) -> int:
    directory = os.path.dirname(os.path.abspath(filename))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, partial = tempfile.mkstemp(
            prefix=f".{os.path.basename(filename)}.", suffix=".part", dir=directory
        )
    except OSError as exc:
        raise ToolError(f"cannot write {filename}: {exc}") from None
    try:
        with os.fdopen(fd, "wb") as out, bar(stderr, description="backup") as progress:
            size = _copy(response, out, progress)
        _replace(partial, filename)
    except BaseException:
        os.unlink(partial)
        raise
    return size


def _replace(partial: str, filename: str) -> None:
    try:
        os.replace(partial, filename)
    except OSError as exc:
        raise ToolError(f"cannot write {filename}: {exc}") from None


def _copy(response, out, progress) -> int:
    size = 0
    try:
        while chunk := response.read1(READ_BYTES):
            out.write(chunk)
            size += len(chunk)
            progress.update(len(chunk))
    except (http.client.HTTPException, OSError) as exc:
        raise ToolError(f"backup download failed: {describe(exc)}") from None
    return size
