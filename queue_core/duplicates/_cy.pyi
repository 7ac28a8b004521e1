"""Stub for the compiled twin of ``queue_core.duplicates._py`` (same API)."""

from typing import Optional, Tuple

def duplicate_field(body: bytes) -> Optional[Tuple[str, int]]: ...
