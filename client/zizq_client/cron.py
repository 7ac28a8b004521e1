"""Cron schedules (pro, API.md 7.6): a group of named entries, each an
expression, an optional time zone and the template of the job it enqueues.

One ``CronEntry`` class serves both directions: built by hand (or with
``CronEntry.of`` from a declared job) it is a definition, and read back
from the server it also carries the scheduling state (``next_enqueue_at``,
``last_enqueue_at``, pause times), so a group read with ``client.cron()``
can be edited and put back as it is. Only the definition fields go on the
wire; the server owns the state.
"""

from dataclasses import dataclass, field

_STATE = ("paused_at", "resumed_at", "next_enqueue_at", "last_enqueue_at")


@dataclass(frozen=True)
class CronEntry:
    """An entry: ``job`` is an enqueue's parameters without ``ready_at``
    (``JobDefinition.params()`` or ``params.job_params()`` make one)."""

    name: str
    expression: str
    job: dict
    timezone: str | None = None
    paused: bool | None = None
    paused_at: int | None = None
    resumed_at: int | None = None
    next_enqueue_at: int | None = None
    last_enqueue_at: int | None = None

    @classmethod
    def of(cls, job, name: str, expression: str, *args, **kwargs) -> "CronEntry":
        """An entry that enqueues ``job(*args, **kwargs)`` (a declared job,
        with ``job.using(...)`` for its options) on ``expression``."""
        params = job.params(*args, **kwargs)
        if "ready_at" in params:
            raise ValueError("a cron entry's job cannot have a delay or ready_at")
        return cls(name, expression, params)

    @classmethod
    def from_wire(cls, wire: dict) -> "CronEntry":
        return cls(
            name=wire["name"],
            expression=wire["expression"],
            job=wire["job"],
            timezone=wire.get("timezone"),
            paused=wire.get("paused"),
            **{name: wire.get(name) for name in _STATE},
        )

    def to_wire(self) -> dict:
        """The definition the server reads (state fields left out)."""
        wire = {"name": self.name, "expression": self.expression, "job": self.job}
        if self.timezone is not None:
            wire["timezone"] = self.timezone
        if self.paused is not None:
            wire["paused"] = self.paused
        return wire


@dataclass(frozen=True)
class CronGroup:
    """A group as the server describes it; ``entries`` by name, except in
    the answer to a definition (``put_cron``), which keeps its order."""

    name: str
    paused: bool
    entries: list = field(default_factory=list)
    paused_at: int | None = None
    resumed_at: int | None = None

    @classmethod
    def from_wire(cls, wire: dict) -> "CronGroup":
        return cls(
            name=wire["name"],
            paused=wire["paused"],
            entries=[CronEntry.from_wire(e) for e in wire["entries"]],
            paused_at=wire.get("paused_at"),
            resumed_at=wire.get("resumed_at"),
        )

    def entry(self, name: str) -> CronEntry:
        """The entry called ``name`` (``KeyError`` if there is none)."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)
