"""In-memory indexes: compiled implementation if built, else the Python twin
(see ``queue_core.twins`` for the choice)."""

from ..twins import choose

_impl, IMPLEMENTATION = choose(__name__)
ReadyIndex = _impl.ReadyIndex
TimeIndex = _impl.TimeIndex

__all__ = ["IMPLEMENTATION", "ReadyIndex", "TimeIndex"]
