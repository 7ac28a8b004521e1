"""Background work yields the CPU to the event loop (Linux per-thread nice).

The event loop's thread answers every request; everything else the server
does in threads (RocksDB's compactions, the backup's archive writer) can
wait. When they run on a core the loop also needs, the kernel splits it by
weight, and at the same nice value that is half and half: producers kept
50% of their throughput during a full compaction of 1,000,000 jobs, and a
third during a backup (bench/backup.py, server pinned to one core). A nice
value ``BACKGROUND_NICE_OFFSET`` above the loop's (weight 335 against 1024)
leaves the loop three quarters of a contended core, and costs the
background work nothing when a core is idle: it then runs at full speed.

Linux keeps a nice value per thread (``setpriority`` on a thread id), and
RocksDB names its compaction threads ``rocksdb:low``; elsewhere, or if a
thread is gone, nothing changes. A nice value is only ever raised, which
needs no privilege.
"""

import os
import threading

BACKGROUND_NICE_OFFSET = 5
_TASKS = "/proc/self/task"
_COMPACTION_THREAD = "rocksdb:low"
_MAX_NICE = 19


def background_nice() -> int:
    """The nice value for background threads: the main thread's, plus the
    offset."""
    return min(
        _MAX_NICE, os.getpriority(os.PRIO_PROCESS, os.getpid()) + BACKGROUND_NICE_OFFSET
    )


def lower_current_thread() -> None:
    """Run the calling (background) thread at ``background_nice()``."""
    _lower(threading.get_native_id(), background_nice())


def lower_compaction_threads() -> None:
    """Run RocksDB's compaction threads (which exist from the database's
    open on) at ``background_nice()``."""
    if not os.path.isdir(_TASKS):
        return
    nice = background_nice()
    for tid in os.listdir(_TASKS):
        try:
            with open(f"{_TASKS}/{tid}/comm") as comm:
                name = comm.read().strip()
        except OSError:  # the thread has ended
            continue
        if name == _COMPACTION_THREAD:
            _lower(int(tid), nice)


def _lower(tid: int, nice: int) -> None:
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:  # the thread has ended
        pass
