"""Which code runs a job type: the job registry and its resolvers.

``@job`` registers each declaration under its type name. A worker that
meets an unregistered type first tries resolvers (the Django backend adds
one for ``django.tasks`` functions), then imports the module the dotted
type name points into, whose import registers the job; only then is the
type unknown. Anything with ``is_async`` and ``invoke(payload)`` can run.
"""

from importlib import import_module

from .errors import UnknownJobType

_jobs: dict = {}
_resolvers: list = []


def register(target) -> None:
    existing = _jobs.get(target.type_name)
    if existing is not None and existing.qualified_name != target.qualified_name:
        raise ValueError(
            f"job type {target.type_name!r} is already {existing.qualified_name}"
        )
    _jobs[target.type_name] = target


def add_resolver(resolver) -> None:
    """``resolver(type_name)`` returns a runnable target or None."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def registered() -> dict:
    return dict(_jobs)


def resolve(type_name: str):
    target = _jobs.get(type_name)
    if target is not None:
        return target
    for resolver in _resolvers:
        target = resolver(type_name)
        if target is not None:
            _jobs[type_name] = target
            return target
    module_name = type_name.rpartition(".")[0]
    if module_name:
        try:
            import_module(module_name)
        except ImportError:
            pass
        if type_name in _jobs:
            return _jobs[type_name]
    raise UnknownJobType(f"no job registered for type {type_name!r}")
