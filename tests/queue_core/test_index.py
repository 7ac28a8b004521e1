"""Ready and time indexes: both twins, and compiled against reference.

The example tests run once per implementation (``index_impl``). The
comparison tests drive ``_cy`` and ``_py`` with the same operations and
require the same answer from every call, including long random runs that
leave enough stale heap entries to trigger compaction.
"""

import random

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from queue_core.defaults import MAX_U64
from queue_core.ids import new_id
from queue_core.index import _py

# Ids that are not SCRU128-shaped: shorter and longer than the 24 bytes the
# compiled heap compares as integers, sharing those 24 bytes, embedding NUL,
# non-ASCII (UTF-8 order must be code point order) and a lone surrogate.
ODD_IDS = [
    "a",
    "ab",
    "a\x00",
    "b",
    "x" * 24,
    "x" * 24 + "\x00",
    "x" * 24 + "a",
    "x" * 24 + "b",
    "x" * 30,
    "é",
    "\U0001f600",
    "\uffff",
    "\ud800",
    "",
]


def _drain(index, queues=None):
    out = []
    while (claimed := index.pop_best(queues)) is not None:
        out.append(claimed)
    return out


# -- ReadyIndex ---------------------------------------------------------------


def test_ready_index_pops_by_priority_then_fifo(index_impl):
    """Lower priority first; equal priorities in id (creation) order."""
    index = index_impl.ReadyIndex()
    ids = [new_id() for _ in range(6)]
    for job_id, priority in zip(ids, [5, 1, 5, 1, 0, 5], strict=True):
        index.add(job_id, "q", priority)
    assert _drain(index) == [
        (ids[4], "q", 0),
        (ids[1], "q", 1),
        (ids[3], "q", 1),
        (ids[0], "q", 5),
        (ids[2], "q", 5),
        (ids[5], "q", 5),
    ]
    assert len(index) == 0


def test_ready_index_pop_best_filters_by_queue(index_impl):
    index = index_impl.ReadyIndex()
    a, b, c = new_id(), new_id(), new_id()
    index.add(a, "emails", 10)
    index.add(b, "reports", 0)
    index.add(c, "emails", 10)
    assert index.pop_best(frozenset({"emails"})) == (a, "emails", 10)
    assert index.pop_best(["missing"]) is None
    assert index.pop_best(("emails",)) == (c, "emails", 10)
    assert index.pop_best({"emails"}) is None
    assert index.pop_best(["reports"]) == (b, "reports", 0)


def test_ready_index_pop_best_orders_globally_across_queues(index_impl):
    """Several queues (or all) yield the lowest (priority, id) among them."""
    index = index_impl.ReadyIndex()
    expected = []
    for n in range(30):
        job_id = new_id()
        queue = f"q{n % 4}"
        priority = (n * 7) % 3
        index.add(job_id, queue, priority)
        expected.append((priority, job_id, queue))
    expected.sort()
    picked = [e for e in expected if e[2] in ("q1", "q3")]
    assert _drain(index, ["q1", "q3"]) == [(i, q, p) for p, i, q in picked]
    rest = [e for e in expected if e[2] not in ("q1", "q3")]
    assert _drain(index) == [(i, q, p) for p, i, q in rest]


def test_ready_index_tracks_membership_and_counts(index_impl):
    index = index_impl.ReadyIndex()
    a, b = new_id(), new_id()
    index.add(a, "q", 3)
    index.add(b, "r", 4)
    assert len(index) == 2
    assert a in index and "nope" not in index
    assert index.get(a) == ("q", 3)
    assert index.get("nope") is None
    assert (index.queue_count("q"), index.queue_count("r")) == (1, 1)
    assert index.queue_count("missing") == 0


def test_ready_index_remove_drops_job_lazily(index_impl):
    """Removed jobs are never returned, even though heaps drop them lazily."""
    index = index_impl.ReadyIndex()
    ids = [new_id() for _ in range(10)]
    for job_id in ids:
        index.add(job_id, "q", 1)
    assert index.remove(ids[0]) is True
    assert index.remove(ids[0]) is False
    assert index.remove("never-added") is False
    for job_id in ids[2:9]:
        index.remove(job_id)
    assert index.queue_count("q") == 2
    assert _drain(index) == [(ids[1], "q", 1), (ids[9], "q", 1)]
    assert index.queue_count("q") == 0


def test_ready_index_readd_moves_job(index_impl):
    """Adding a ready job again replaces its queue and priority."""
    index = index_impl.ReadyIndex()
    a, b = new_id(), new_id()
    index.add(a, "q", 5)
    index.add(b, "q", 3)
    index.add(a, "q", 1)
    assert index.get(a) == ("q", 1)
    assert len(index) == 2
    index.add(b, "other", 0)
    assert (index.queue_count("q"), index.queue_count("other")) == (1, 1)
    assert index.pop_best(["q"]) == (a, "q", 1)
    assert index.pop_best(["q"]) is None
    index.remove(b)
    index.add(b, "q", 9)
    assert _drain(index) == [(b, "q", 9)]


def test_ready_index_churn_keeps_order_after_compaction(index_impl):
    """Many removals and re-adds (past the compaction slack) lose nothing."""
    index = index_impl.ReadyIndex()
    ids = [new_id() for _ in range(500)]
    for job_id in ids:
        index.add(job_id, "q", 7)
    for job_id in ids[:450]:
        index.remove(job_id)
    for _ in range(200):
        index.add(ids[460], "q", 7)
    for job_id in ids[100:120]:
        index.add(job_id, "q", 2)
    expected = [(i, "q", 2) for i in ids[100:120]] + [(i, "q", 7) for i in ids[450:]]
    assert len(index) == 70
    assert _drain(index) == expected


def test_ready_index_ordered_lists_take_order(index_impl):
    index = index_impl.ReadyIndex()
    a, b, c = new_id(), new_id(), new_id()
    index.add(c, "q", 0)
    index.add(a, "r", 2)
    index.add(b, "q", 2)
    index.remove(c)
    assert index.ordered() == [(2, a, "r"), (2, b, "q")]
    assert index.ordered("q") == [(2, b, "q")]
    assert index.ordered("missing") == []


def test_snapshots_keep_the_keys_of_their_moment(index_impl):
    """A snapshot's keys are the members' when it was taken, whatever the
    index does after (the dashboard feed reads one over many loop turns)."""
    ready, timed = index_impl.ReadyIndex(), index_impl.TimeIndex()
    ids = [new_id() for _ in range(5)]
    for n, job_id in enumerate(ids):
        ready.add(job_id, f"q{n % 2}", n)
        timed.add(job_id, 100 + n)
    ready_snapshot, timed_snapshot = ready.snapshot(), timed.snapshot()
    ready.remove(ids[0])
    ready.add(ids[1], "q9", 50)
    ready.pop_best()
    timed.pop_due(102, 10)
    timed.add(ids[4], 7)
    assert sorted(ready.keys(ready_snapshot, 0, 5)) == [
        (n, job_id, f"q{n % 2}") for n, job_id in enumerate(ids)
    ]
    assert sorted(timed.keys(timed_snapshot, 0, 5)) == [
        (100 + n, job_id) for n, job_id in enumerate(ids)
    ]
    parts = [ready.keys(ready_snapshot, a, a + 2) for a in (0, 2, 4)]
    assert [len(part) for part in parts] == [2, 2, 1]
    assert sum(parts, []) == ready.keys(ready_snapshot, 0, 99)
    assert timed.keys(timed_snapshot, 5, 9) == []


def test_ready_index_orders_odd_ids_as_strings(index_impl):
    """Any ``str`` id sorts as Python sorts it, not only SCRU128 ids."""
    index = index_impl.ReadyIndex()
    for job_id in ODD_IDS:
        index.add(job_id, "q", 1)
    assert [claimed[0] for claimed in _drain(index)] == sorted(ODD_IDS)


def test_ready_index_pop_best_is_none_when_empty(index_impl):
    index = index_impl.ReadyIndex()
    assert index.pop_best() is None
    assert index.pop_best([]) is None


# -- TimeIndex ----------------------------------------------------------------


def test_time_index_pop_due_returns_earliest_first_up_to_limit(index_impl):
    index = index_impl.TimeIndex()
    ids = [new_id() for _ in range(5)]
    for job_id, at in zip(ids, [50, 10, 30, 10, 70], strict=True):
        index.add(job_id, at)
    assert index.pop_due(5, 10) == []
    assert index.pop_due(30, 2) == [ids[1], ids[3]]
    assert index.pop_due(30, 10) == [ids[2]]
    assert index.pop_due(30, 0) == []
    assert len(index) == 2
    assert index.pop_due(MAX_U64, 10) == [ids[0], ids[4]]


def test_time_index_peek_skips_removed_and_moved_jobs(index_impl):
    index = index_impl.TimeIndex()
    a, b, c = new_id(), new_id(), new_id()
    index.add(a, 10)
    index.add(b, 20)
    index.add(c, 30)
    assert index.peek() == (10, a)
    assert index.remove(a) is True
    assert index.remove(a) is False
    assert index.peek() == (20, b)
    index.add(b, 40)
    assert index.peek() == (30, c)
    assert index.get(b) == 40
    assert index.get(a) is None
    assert (b in index, a in index, len(index)) == (True, False, 2)
    assert index.pop_due(100, 10) == [c, b]
    assert index.peek() is None


def test_time_index_ordered_and_compaction(index_impl):
    """Removing most jobs (past the slack) keeps the rest in order."""
    index = index_impl.TimeIndex()
    ids = [new_id() for _ in range(400)]
    for n, job_id in enumerate(ids):
        index.add(job_id, 1000 - n)
    for job_id in ids[:390]:
        index.remove(job_id)
    expected = sorted((1000 - n, ids[n]) for n in range(390, 400))
    assert index.ordered() == expected
    assert index.pop_due(1000, 100) == [i for _, i in expected]


def test_time_index_accepts_full_u64_range(index_impl):
    index = index_impl.TimeIndex()
    index.add("late", MAX_U64)
    index.add("early", 0)
    assert index.ordered() == [(0, "early"), (MAX_U64, "late")]
    assert index.pop_due(MAX_U64 - 1, 10) == ["early"]
    assert index.peek() == (MAX_U64, "late")


# -- the compiled twin against the reference ----------------------------------


def test_ready_index_twins_agree_on_random_operations(cy_index):
    """20k seeded random operations, small id pool: lots of stale entries."""
    rng = random.Random(20240611)
    pool = [new_id() for _ in range(150)] + ODD_IDS
    queues = ["a", "b", "c", "d"]
    cy, py = cy_index.ReadyIndex(), _py.ReadyIndex()
    for step in range(20_000):
        op = rng.random()
        if op < 0.5:
            args = (rng.choice(pool), rng.choice(queues), rng.choice([0, 1, 2, 65535]))
            assert cy.add(*args) == py.add(*args)
        elif op < 0.7:
            job_id = rng.choice(pool)
            assert cy.remove(job_id) == py.remove(job_id), step
        else:
            chosen = None if op < 0.8 else rng.sample(queues, rng.randint(0, 3))
            assert cy.pop_best(chosen) == py.pop_best(chosen), step
        assert len(cy) == len(py)
    assert cy.ordered() == py.ordered()
    assert [cy.queue_count(q) for q in queues] == [py.queue_count(q) for q in queues]


def test_time_index_twins_agree_on_random_operations(cy_index):
    rng = random.Random(7)
    pool = [new_id() for _ in range(150)] + ODD_IDS
    cy, py = cy_index.TimeIndex(), _py.TimeIndex()
    now = 0
    for step in range(20_000):
        op = rng.random()
        if op < 0.55:
            args = (rng.choice(pool), now + rng.randint(0, 5000))
            assert cy.add(*args) == py.add(*args)
        elif op < 0.8:
            job_id = rng.choice(pool)
            assert cy.remove(job_id) == py.remove(job_id), step
        elif op < 0.9:
            assert cy.peek() == py.peek(), step
        else:
            now += rng.randint(0, 20)
            limit = rng.randint(0, 20)
            assert cy.pop_due(now, limit) == py.pop_due(now, limit), step
        assert len(cy) == len(py)
    assert cy.ordered() == py.ordered()


IDS = st.sampled_from([f"0{n:024d}" for n in range(8)] + ODD_IDS[:6])
QUEUES = st.sampled_from(["a", "b", "c"])


class ReadyIndexTwins(RuleBasedStateMachine):
    """Hypothesis drives both ReadyIndex twins; every answer must match."""

    def __init__(self, cy_module) -> None:
        super().__init__()
        self.cy = cy_module.ReadyIndex()
        self.py = _py.ReadyIndex()

    @rule(job_id=IDS, queue=QUEUES, priority=st.integers(0, 3))
    def add(self, job_id, queue, priority):
        self.cy.add(job_id, queue, priority)
        self.py.add(job_id, queue, priority)

    @rule(job_id=IDS)
    def remove(self, job_id):
        assert self.cy.remove(job_id) == self.py.remove(job_id)

    @rule(queues=st.none() | st.frozensets(QUEUES))
    def pop_best(self, queues):
        assert self.cy.pop_best(queues) == self.py.pop_best(queues)

    @rule(job_id=IDS)
    def get(self, job_id):
        assert self.cy.get(job_id) == self.py.get(job_id)
        assert (job_id in self.cy) == (job_id in self.py)

    @invariant()
    def same_contents(self):
        assert len(self.cy) == len(self.py)
        assert self.cy.ordered() == self.py.ordered()
        for queue in "abc":
            assert self.cy.queue_count(queue) == self.py.queue_count(queue)


class TimeIndexTwins(RuleBasedStateMachine):
    """Hypothesis drives both TimeIndex twins; every answer must match."""

    def __init__(self, cy_module) -> None:
        super().__init__()
        self.cy = cy_module.TimeIndex()
        self.py = _py.TimeIndex()

    @rule(job_id=IDS, at_ms=st.integers(0, 20) | st.just(MAX_U64))
    def add(self, job_id, at_ms):
        self.cy.add(job_id, at_ms)
        self.py.add(job_id, at_ms)

    @rule(job_id=IDS)
    def remove(self, job_id):
        assert self.cy.remove(job_id) == self.py.remove(job_id)

    @rule(now_ms=st.integers(-1, 25), limit=st.integers(0, 5))
    def pop_due(self, now_ms, limit):
        assert self.cy.pop_due(now_ms, limit) == self.py.pop_due(now_ms, limit)

    @rule()
    def peek(self):
        assert self.cy.peek() == self.py.peek()

    @rule(job_id=IDS)
    def get(self, job_id):
        assert self.cy.get(job_id) == self.py.get(job_id)

    @invariant()
    def same_contents(self):
        assert len(self.cy) == len(self.py)
        assert self.cy.ordered() == self.py.ordered()


TWIN_SETTINGS = settings(max_examples=60, stateful_step_count=60, deadline=None)


def test_ready_index_twins_agree_under_hypothesis(cy_index):
    run_state_machine_as_test(lambda: ReadyIndexTwins(cy_index), settings=TWIN_SETTINGS)


def test_time_index_twins_agree_under_hypothesis(cy_index):
    run_state_machine_as_test(lambda: TimeIndexTwins(cy_index), settings=TWIN_SETTINGS)
