"""Defining cron groups and entries (API.md 7.6.4): the synchronous part of
each operation, writing through ``store.cron.Crons``.

Definitions arrive validated (names, templates, expressions and zones), so
nothing here can fail halfway: a ``PUT`` of a whole group writes the group,
its kept and new entries and the deletion of the others into one batch,
which makes it atomic. The rules (smart merge, pause bookkeeping) are
``queue_core.cron.rules``.
"""

from ..cron import rules
from ..cron.records import CronGroup
from ..errors import Conflict


def put_group(crons, name: str, paused, definitions, now_ms: int):
    """Create or redefine a group; returns it with its entries in request
    order (the response's order)."""
    group = crons.groups.get(name)
    if group is None:
        group = CronGroup(name)
    rules.set_paused(group, paused, now_ms)
    crons.save_group(group)
    wanted = {definition.name for definition in definitions}
    for entry_name in [n for n in group.entries if n not in wanted]:
        crons.drop_entry(group, entry_name)
    for definition in definitions:
        _define(crons, group, definition, now_ms)
    ordered = CronGroup(group.name, group.paused, group.paused_at, group.resumed_at)
    ordered.entries = {d.name: group.entries[d.name] for d in definitions}
    return ordered


def patch_group(crons, name: str, paused: bool, now_ms: int):
    group = crons.group(name)
    rules.set_paused(group, paused, now_ms)
    crons.save_group(group)
    return group


def add_entry(crons, group_name: str, definition, now_ms: int):
    """A new entry (409 if the name is taken); the group is created if missing."""
    group = crons.groups.get(group_name)
    if group is not None and definition.name in group.entries:
        raise Conflict(
            f"cron entry '{definition.name}' already exists in group '{group_name}'"
        )
    group = _group_for_entry(crons, group, group_name)
    entry = rules.new_entry(definition, now_ms, stamp_pause=False)
    crons.save_entry(group, entry)
    return entry


def put_entry(crons, group_name: str, name: str, definition, now_ms: int):
    """Create or redefine one entry under the path's name."""
    group = _group_for_entry(crons, crons.groups.get(group_name), group_name)
    return _define(crons, group, definition._replace(name=name), now_ms)


def patch_entry(crons, group_name: str, entry, paused: bool, now_ms: int) -> None:
    rules.set_paused(entry, paused, now_ms)
    crons.save_entry(crons.groups[group_name], entry)


def _group_for_entry(crons, group, name: str):
    if group is None:
        group = CronGroup(name)
        crons.save_group(group)
    return group


def _define(crons, group, definition, now_ms: int):
    old = group.entries.get(definition.name)
    if old is None:
        entry = rules.new_entry(definition, now_ms, stamp_pause=True)
    else:
        entry = rules.merged_entry(old, definition, now_ms)
    crons.save_entry(group, entry)
    return entry
