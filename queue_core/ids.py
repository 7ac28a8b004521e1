"""SCRU128 job ids: 25 lowercase base-36 characters, sortable by creation time.

The layout follows the SCRU128 specification: a 48-bit millisecond
timestamp, a 24-bit ``counter_hi``, a 24-bit ``counter_lo`` and 32 bits of
entropy. Ids from one process are strictly increasing, which the API relies
on for FIFO order within a priority and for list cursors.

The PyPI ``scru128`` package produces the same format but costs ~8 us an id;
bulk enqueues make tens of thousands a second, so this module keeps the
generator state and the codec renders the digits (``codec.format_id``,
compiled: ~0.3 us an id in all).
"""

import random
import re
import time

from .codec import format_id

_MAX_COUNTER = 0xFFFFFF
_ID_RE = re.compile(r"[0-9a-z]{25}\Z")


def id_timestamp_ms(job_id: str) -> int:
    """The creation time embedded in an id."""
    return int(job_id, 36) >> 80


def is_valid_id(text: str) -> bool:
    """True when ``text`` has the canonical id shape."""
    return _ID_RE.match(text) is not None


class IdGenerator:
    """Monotonic SCRU128 generator (one per process)."""

    def __init__(self) -> None:
        self._timestamp = 0
        self._counter_hi = 0
        self._counter_lo = 0
        self._ts_counter_hi = 0

    def new_id(self) -> str:
        ts = time.time_ns() // 1_000_000
        if ts > self._timestamp:
            self._timestamp = ts
            self._counter_lo = _random24()
            if ts - self._ts_counter_hi >= 1000:
                self._ts_counter_hi = ts
                self._counter_hi = _random24()
        else:
            self._bump_counter()
        return format_id(
            self._timestamp, self._counter_hi, self._counter_lo, _getrandbits(32)
        )

    def _bump_counter(self) -> None:
        self._counter_lo += 1
        if self._counter_lo > _MAX_COUNTER:
            self._counter_lo = 0
            self._counter_hi += 1
            if self._counter_hi > _MAX_COUNTER:
                # Counter space for this millisecond is exhausted: borrow the
                # next millisecond so ids stay strictly increasing.
                self._counter_hi = 0
                self._timestamp += 1


# Ids need uniqueness, not secrecy: a seeded Mersenne Twister is ~20x
# cheaper than os.urandom per call and is what SCRU128 allows.
_getrandbits = random.Random().getrandbits


def _random24() -> int:
    return _getrandbits(24)


_generator = IdGenerator()
new_id = _generator.new_id
