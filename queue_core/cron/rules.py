"""The rules a definition follows when it meets what is stored (API.md 7.6).

Pause bookkeeping (7.6.3) applies to groups and entries alike; the "smart
merge" of a ``PUT`` (7.6.4) decides what of a stored entry survives its
redefinition: an unchanged expression string keeps the schedule state as
it is (even when the template or the zone changed), a changed one is
scheduled afresh from now and keeps ``last_enqueue_at``; an omitted
``paused`` keeps the stored pause state.
"""

from .. import names
from . import expression
from .records import CronEntry, EntryDefinition

GROUP_NAME = "cron group name"
ENTRY_NAME = "cron entry name"


def set_paused(target, paused, now_ms: int) -> None:
    """Apply a requested pause state to a group or an entry.

    None (not given) and the current value change nothing; pausing stamps
    ``paused_at``, resuming stamps ``resumed_at``, each keeping the other.
    """
    if paused is None or paused == target.paused:
        return
    target.paused = paused
    if paused:
        target.paused_at = now_ms
    else:
        target.resumed_at = now_ms


def new_entry(definition: EntryDefinition, now_ms: int, stamp_pause: bool) -> CronEntry:
    """An entry never stored before, scheduled from now.

    ``stamp_pause``: whether one created paused gets ``paused_at`` (a ``PUT``
    applies 7.6.3 from the unpaused state; ``POST .../entries`` does not).
    """
    entry = _from_definition(definition, None)
    entry.next_enqueue_at = expression.next_after(
        definition.expression, definition.timezone, now_ms
    )
    if stamp_pause:
        set_paused(entry, definition.paused, now_ms)
    else:
        entry.paused = bool(definition.paused)
    return entry


def merged_entry(old: CronEntry, definition: EntryDefinition, now_ms: int) -> CronEntry:
    """A stored entry redefined by a ``PUT`` (the smart merge)."""
    entry = _from_definition(definition, old)
    if definition.expression == old.expression:
        entry.next_enqueue_at = old.next_enqueue_at
    else:
        entry.next_enqueue_at = expression.next_after(
            definition.expression, definition.timezone, now_ms
        )
    set_paused(entry, definition.paused, now_ms)
    return entry


def _from_definition(definition: EntryDefinition, old) -> CronEntry:
    entry = CronEntry(
        definition.name, definition.expression, definition.timezone, definition.job
    )
    if old is not None:
        entry.paused = old.paused
        entry.paused_at = old.paused_at
        entry.resumed_at = old.resumed_at
        entry.last_enqueue_at = old.last_enqueue_at
    return entry


def check_group_name(name: str) -> None:
    names.validate(GROUP_NAME, name)


def check_entry_name(name: str) -> None:
    names.validate(ENTRY_NAME, name)
