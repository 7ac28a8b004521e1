"""A point-in-time copy of the database, taken while jobs keep flowing.

A RocksDB checkpoint hard-links the live SST files into a new directory and
copies the small files (MANIFEST, OPTIONS, the WAL) beside them, so it is
consistent (every write batch is in it whole or not at all) and costs
almost no disk or time on the same filesystem. Two facts shape this module
(measured on rocksdict 0.3.29):

* ``Checkpoint.create_checkpoint`` holds the GIL for the whole call, and
  first flushes the memtables: 2 s for a 64 MB memtable, during which the
  event loop would stand still.
* ``Rdict.flush`` releases the GIL while the memtables are written.

So the memtables are flushed first, in a worker thread (``flush_memtables``),
and the checkpoint (``create``) then finds only what arrived meanwhile:
~60 ms of GIL for a fresh memtable of a thousand jobs. The pending batch of
the current turn belongs to the loop's thread and is written there before
either step, so everything acknowledged before the backup began is in it.

A backup's checkpoint lives in a ``.backup-*`` directory beside the
database (``work_dir``), which the backup removes when it ends. A crash
mid-backup leaves it behind, holding hard links to SST files the database
may since have deleted (so disk that is never freed); ``remove_leftovers``
clears such directories at startup, before the store opens.
"""

import os
import shutil
import tempfile

from rocksdict import Checkpoint

from ..errors import StorageError

WORK_DIR_PREFIX = ".backup-"


def work_dir(db_path: str) -> str:
    """A new, empty directory for a checkpoint, beside the database at
    ``db_path`` (the same filesystem, so SST files can be hard-linked)."""
    return tempfile.mkdtemp(prefix=WORK_DIR_PREFIX, dir=os.path.dirname(db_path))


def remove_leftovers(db_path: str) -> list:
    """Remove the ``work_dir`` directories a crash left beside the database
    at ``db_path``; the paths removed, sorted.

    Only for startup: a running backup's directory looks the same.
    """
    root = os.path.dirname(db_path)
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    removed = []
    for name in names:
        path = os.path.join(root, name)
        if name.startswith(WORK_DIR_PREFIX) and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def flush_memtables(ks) -> None:
    """Write the memtables to SST files (safe in a worker thread)."""
    try:
        ks.db.flush(True)
    except Exception as exc:  # rocksdict raises bare Exception
        raise StorageError(f"flush failed: {exc}") from None


def create(ks, path: str) -> None:
    """Create the checkpoint at ``path``, which must not exist yet.

    Runs on the loop's thread, after ``ks.flush()`` and ``flush_memtables``.
    """
    try:
        Checkpoint(ks.db).create_checkpoint(path)
    except Exception as exc:  # rocksdict raises bare Exception
        raise StorageError(f"checkpoint failed: {exc}") from None
