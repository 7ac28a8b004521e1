"""Background threads run at a lower CPU priority than the event loop's."""

import os
import threading

import pytest

from queue_core.store import cpu_priority

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self/task"), reason="per-thread nice is Linux's"
)


def _thread_nices(name: str) -> list:
    nices = []
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/comm") as comm:
            if comm.read().strip() == name:
                nices.append(os.getpriority(os.PRIO_PROCESS, int(tid)))
    return nices


def test_background_nice_is_the_main_threads_plus_the_offset():
    main = os.getpriority(os.PRIO_PROCESS, os.getpid())
    expected = min(19, main + cpu_priority.BACKGROUND_NICE_OFFSET)
    assert cpu_priority.background_nice() == expected


def test_lower_current_thread_touches_only_that_thread():
    seen = []

    def body():
        cpu_priority.lower_current_thread()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [cpu_priority.background_nice()]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < seen[0]


def test_opening_a_store_lowers_the_compaction_threads(store):
    nices = _thread_nices("rocksdb:low")
    assert nices and all(n >= cpu_priority.background_nice() for n in nices)
    assert all(
        n < cpu_priority.background_nice() for n in _thread_nices("rocksdb:high")
    )
