"""Cron scheduling's model: expressions, records and definition rules.

The persistence of groups and entries is ``queue_core.store.cron``, their
firing ``queue_core.store.cron_fire`` driven by ``queue_core.background.cron``.
"""

from .expression import check, next_after
from .records import CronEntry, CronGroup, EntryDefinition
from .rules import (
    check_entry_name,
    check_group_name,
    merged_entry,
    new_entry,
    set_paused,
)

# The licensed feature, named as the licence names it (API.md 2.8): the
# scheduler asks ``licensed(FEATURE)`` before each pass.
FEATURE = "cron scheduling"

__all__ = [
    "FEATURE",
    "CronEntry",
    "CronGroup",
    "EntryDefinition",
    "check",
    "check_entry_name",
    "check_group_name",
    "merged_entry",
    "new_entry",
    "next_after",
    "set_paused",
]
