"""The backup archive: a gzip tar whose every entry is under ``zizq-root/``.

ADMIN_AND_CLI.md 6.1: the database lives in ``zizq-root/data/``. The server
writes the archive (``write``) from a checkpoint directory in a worker
thread; ``zizq restore`` (``tools/restore.py``) reads it. The writer only
adds directories and regular files (a checkpoint holds nothing else), in
sorted order so that two archives of the same checkpoint are alike.

Compression level 1: RocksDB's SST blocks are already compressed, so higher
levels cost several times the CPU for a few per cent of size, and the
backup shares two cores with the server it copies (bench/backup.py).
"""

import os
import tarfile

ROOT = "zizq-root"
DATA = f"{ROOT}/data"
COMPRESS_LEVEL = 1
# Bytes read and compressed per call: few Python-level round trips per file.
COPY_BYTES = 1024 * 1024


def write(directory: str, sink) -> None:
    """Write ``directory`` as ``zizq-root/data/...`` into ``sink`` (tar.gz).

    ``sink`` is any object with ``write(bytes)``; it is not closed.
    """
    with tarfile.open(
        fileobj=sink,
        mode="w:gz",
        compresslevel=COMPRESS_LEVEL,
        copybufsize=COPY_BYTES,
        format=tarfile.PAX_FORMAT,
    ) as tar:
        tar.add(directory, arcname=DATA, recursive=False)
        for parent, dirs, files in os.walk(directory):
            dirs.sort()
            relative = os.path.relpath(parent, directory)
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(parent, name)
                arcname = os.path.normpath(os.path.join(DATA, relative, name))
                tar.add(path, arcname=arcname, recursive=False)
