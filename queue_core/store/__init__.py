"""Persistence and lifecycle of jobs over RocksDB, one module per operation."""

from .recover import RecoveryReport
from .store import Store
from .take import Taker

__all__ = ["Store", "Taker", "RecoveryReport"]
