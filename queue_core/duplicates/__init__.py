"""Duplicate fields in JSON request bodies: compiled twin if built, else Python.

``duplicate_field(body)`` finds the first field that a JSON body gives
twice, which the real server's deserializer (serde) refuses and orjson,
keeping the last, cannot report. See ``_py`` for the rules.
"""

from ..twins import choose

_impl, IMPLEMENTATION = choose(__name__)

duplicate_field = _impl.duplicate_field

__all__ = ["IMPLEMENTATION", "duplicate_field"]
