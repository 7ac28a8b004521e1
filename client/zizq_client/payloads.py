"""Typed payloads: a job whose one parameter is a dataclass, a TypedDict
or a pydantic model sends that object's JSON as its payload, checked
against the type at enqueue (a bad call never reaches the queue) and at
dequeue (the function gets the object back, or the job is killed with
``PayloadInvalid``: a retry would not fix it).

Every job also has a JSON Schema of its payload (``schema_of``): the
model's, or for plain jobs the ``{"args": [...], "kwargs": {...}}`` shape
with a schema per parameter from its annotation, so Node and Ruby
producers can check what they send (``zizq-schema`` prints them).

The checker covers the types JSON carries (str, int, float, bool, None,
lists, tuples, string-keyed dicts, unions, ``Literal``, nested dataclasses
and TypedDicts, ``Any``); other annotations are accepted unchecked, with
an empty schema. Pydantic is used through its v2 protocol
(``model_validate``, ``model_dump``, ``model_json_schema``), never imported.
"""

import dataclasses
import inspect
import types
import typing
from typing import Any, Literal, Union

from .errors import PayloadInvalid

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _is_pydantic(hint) -> bool:
    return isinstance(hint, type) and all(
        hasattr(hint, name)
        for name in ("model_validate", "model_dump", "model_json_schema")
    )


def _is_model(hint) -> bool:
    is_dataclass = isinstance(hint, type) and dataclasses.is_dataclass(hint)
    return is_dataclass or typing.is_typeddict(hint) or _is_pydantic(hint)


def load(value, hint, path: str = "payload"):
    """``value`` (decoded JSON) as ``hint``: dataclasses built, everything
    checked; ``PayloadInvalid`` naming the first bad place."""
    if hint is Any:
        return value
    if _is_pydantic(hint):
        try:
            return hint.model_validate(value)
        except ValueError as exc:
            raise PayloadInvalid(f"{path}: {exc}") from exc
    if dataclasses.is_dataclass(hint) or typing.is_typeddict(hint):
        return _load_object(value, hint, path)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        return _load_union(value, args, path)
    if origin is Literal:
        if value not in args:
            raise PayloadInvalid(f"{path}: {value!r} is not one of {list(args)!r}")
        return value
    if origin in (list, tuple) or hint in (list, tuple):
        return _load_array(value, origin or hint, args, path)
    if origin is dict or hint is dict:
        return _load_map(value, args, path)
    if hint is None or hint is type(None):
        if value is not None:
            raise PayloadInvalid(f"{path}: expected null, got {value!r}")
        return value
    if hint in _SCALARS:
        return _load_scalar(value, hint, path)
    return value


def _load_scalar(value, hint, path: str):
    ok = isinstance(value, hint) and (hint is bool or not isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise PayloadInvalid(f"{path}: expected {_SCALARS[hint]}, got {value!r}")
    return value


def _load_union(value, args: tuple, path: str):
    for option in args:
        try:
            return load(value, option, path)
        except PayloadInvalid:
            continue
    raise PayloadInvalid(f"{path}: {value!r} matches none of {list(args)!r}")


def _load_array(value, kind, args: tuple, path: str):
    if not isinstance(value, (list, tuple)):
        raise PayloadInvalid(f"{path}: expected an array, got {value!r}")
    if kind is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            raise PayloadInvalid(f"{path}: expected {len(args)} items")
        items = enumerate(zip(value, args))
        return tuple(load(v, a, f"{path}[{i}]") for i, (v, a) in items)
    item = args[0] if args else Any
    loaded = [load(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    return tuple(loaded) if kind is tuple else loaded


def _load_map(value, args: tuple, path: str):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise PayloadInvalid(f"{path}: expected an object, got {value!r}")
    item = args[1] if args else Any
    return {k: load(v, item, f"{path}.{k}") for k, v in value.items()}


def _required(cls) -> set:
    if typing.is_typeddict(cls):
        return set(cls.__required_keys__)
    return {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    }


def _load_object(value, cls, path: str):
    if not isinstance(value, dict):
        raise PayloadInvalid(f"{path}: expected an object, got {value!r}")
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(value) - set(hints))
    if unknown:
        raise PayloadInvalid(f"{path}: unknown field {unknown[0]!r}")
    missing = sorted(_required(cls) - set(value))
    if missing:
        raise PayloadInvalid(f"{path}: missing field {missing[0]!r}")
    fields = {k: load(v, hints[k], f"{path}.{k}") for k, v in value.items()}
    return fields if typing.is_typeddict(cls) else cls(**fields)


def schema(hint) -> dict:
    """The JSON Schema of values of ``hint`` (``{}``: anything)."""
    if _is_pydantic(hint):
        return hint.model_json_schema()
    if dataclasses.is_dataclass(hint) or typing.is_typeddict(hint):
        return _object_schema(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        return {"anyOf": [schema(a) for a in args]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple) or hint in (list, tuple):
        if origin is tuple and args and args[-1] is not Ellipsis:
            items = [schema(a) for a in args]
            return {"type": "array", "prefixItems": items, "items": False}
        return {"type": "array", "items": schema(args[0]) if args else {}}
    if origin is dict or hint is dict:
        values = schema(args[1]) if args else {}
        return {"type": "object", "additionalProperties": values}
    if hint is None or hint is type(None):
        return {"type": "null"}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    return {}


def _object_schema(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {
        "title": cls.__name__,
        "type": "object",
        "properties": {name: schema(hint) for name, hint in hints.items()},
        "required": sorted(_required(cls)),
        "additionalProperties": False,
    }


class Model:
    """The payload of a job whose one parameter ``name`` is ``hint``."""

    def __init__(self, name: str, hint) -> None:
        self.name = name
        self.hint = hint

    def dump(self, value) -> dict:
        """The payload for ``value`` (the object, or its JSON as a dict),
        checked against the type."""
        if _is_pydantic(self.hint):
            return load(value, self.hint).model_dump(mode="json")
        if dataclasses.is_dataclass(self.hint) and isinstance(value, self.hint):
            value = dataclasses.asdict(value)
        load(value, self.hint)
        return value

    def load(self, payload):
        return load(payload, self.hint)

    def schema(self) -> dict:
        return schema(self.hint)


def model_of(fn) -> Model | None:
    """The typed payload of ``fn``, if its one parameter has a model type."""
    parameters = list(inspect.signature(fn).parameters.values())
    if len(parameters) != 1 or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return None
    hint = _annotations(fn).get(parameters[0].name)
    return Model(parameters[0].name, hint) if _is_model(hint) else None


def _annotations(fn) -> dict:
    try:
        return typing.get_type_hints(fn)
    except (NameError, TypeError):
        return {}  # a forward reference not yet defined: left untyped


def call_schema(fn) -> dict:
    """The ``{"args", "kwargs"}`` payload schema of a plain job's calls."""
    hints = _annotations(fn)
    positional, named, required = [], {}, []
    for p in inspect.signature(fn).parameters.values():
        item = schema(hints.get(p.name, Any))
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional.append(item)
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            named[p.name] = item
            if p.kind is p.KEYWORD_ONLY and p.default is p.empty:
                required.append(p.name)
    args = {"type": "array", "prefixItems": positional}
    kwargs = {"type": "object", "properties": named, "required": required}
    return {
        "type": "object",
        "properties": {"args": args, "kwargs": kwargs},
        "additionalProperties": False,
    }
