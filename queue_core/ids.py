"""SCRU128 job ids: 25 lowercase base-36 characters, sortable by creation time.

The layout follows the SCRU128 specification: a 48-bit millisecond
timestamp, a 24-bit ``counter_hi``, a 24-bit ``counter_lo`` and 32 bits of
entropy. Ids from one process are strictly increasing, which the API relies
on for FIFO order within a priority and for list cursors.

The PyPI ``scru128`` package produces the same format but costs ~8 us an id;
bulk enqueues make tens of thousands a second, so the generator is part of
the compiled codec (``codec.IdGenerator``, ~0.2 us an id; its Python twin
documents the algorithm).
"""

import re

from .codec import IdGenerator

_ID_RE = re.compile(r"[0-9a-z]{25}\Z")


def id_timestamp_ms(job_id: str) -> int:
    """The creation time embedded in an id."""
    return int(job_id, 36) >> 80


def is_valid_id(text: str) -> bool:
    """True when ``text`` has the canonical id shape."""
    return _ID_RE.match(text) is not None


new_id = IdGenerator().new_id
