"""Typed reads of decoded request bodies, with serde-like error details.

Bodies are decoded to plain Python values first; these helpers then check
presence, type and integer width the way the real server's deserializer
does, so a wrong type, an out-of-range number or a missing field becomes a
400 whose detail names the field (``missing field `payload```). Unknown
keys are ignored (bodies are not strict). ``bool`` is rejected where an
integer is expected, although Python treats it as one.
"""

from queue_core.defaults import MAX_F32, MAX_PRIORITY, MAX_U32, MAX_U64

from .negotiation import BodyError

U16 = ("u16", MAX_PRIORITY)
U32 = ("u32", MAX_U32)
U64 = ("u64", MAX_U64)

_MISSING = object()
# A longer string is quoted only this far in error messages: serde quotes it
# whole, and a body that is one 8 MiB string made an 8 MiB error text,
# copied several times over on its way out.
SHOWN_CHARS = 100


def describe(value) -> str:
    """A value as serde names it in ``invalid type`` messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        if len(value) > SHOWN_CHARS:
            shown = f"{value[:SHOWN_CHARS]!r}".replace("'", '"')
            return f"string {shown}... ({len(value)} characters)"
        return f"string {value!r}".replace("'", '"')
    if isinstance(value, (list, tuple)):
        return "a sequence"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


def mapping(value, what: str = "a map") -> dict:
    if not isinstance(value, dict):
        raise BodyError(f"invalid type: {describe(value)}, expected {what}")
    return value


def required(obj: dict, name: str):
    value = obj.get(name, _MISSING)
    if value is _MISSING:
        raise BodyError(f"missing field `{name}`")
    return value


def string(obj: dict, name: str, optional: bool = False):
    value = obj.get(name) if optional else required(obj, name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise BodyError(f"{name}: invalid type: {describe(value)}, expected a string")
    return value


def integer(obj: dict, name: str, width, optional: bool = False):
    value = obj.get(name) if optional else required(obj, name)
    if value is None and optional:
        return None
    return check_int(value, name, width)


def check_int(value, name: str, width) -> int:
    type_name, maximum = width
    if isinstance(value, bool) or not isinstance(value, int):
        raise BodyError(
            f"{name}: invalid type: {describe(value)}, expected {type_name}"
        )
    if value < 0 or value > maximum:
        raise BodyError(
            f"{name}: invalid value: {describe(value)}, expected {type_name}"
        )
    return value


def number(obj: dict, name: str) -> float:
    """An f32 field (``backoff.exponent``): an int or a finite float in range.

    The value is kept as given (API.md 2.6 echoes ``4`` as ``4``); outside
    the f32 range, or not finite, it is refused, though the backoff
    arithmetic would saturate, since the real server could not store it.
    """
    value = required(obj, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BodyError(f"{name}: invalid type: {describe(value)}, expected f32")
    if not -MAX_F32 <= value <= MAX_F32:  # NaN fails both comparisons
        raise BodyError(
            f"{name}: invalid value: {describe(value)}, expected a finite f32"
        )
    return value


def boolean(obj: dict, name: str, default: bool) -> bool:
    value = obj.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BodyError(
            f"{name}: invalid type: {describe(value)}, expected a boolean"
        )
    return value
