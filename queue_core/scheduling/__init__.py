"""Scheduling arithmetic: compiled implementation if built, else Python."""

from ..twins import choose

_impl, IMPLEMENTATION = choose(__name__)

backoff_delay_ms = _impl.backoff_delay_ms
purge_at_ms = _impl.purge_at_ms

__all__ = ["IMPLEMENTATION", "backoff_delay_ms", "purge_at_ms"]
