"""An enqueue's unique keys in the codec: both twins, and compiled against
reference.

``plan_unique``, ``claim_unique`` and ``unique_results`` run once a request
of a bulk with keys, so they are compiled; Hypothesis draws calls whose
keys repeat (a small alphabet of keys, some of them held) and requires the
same plan, the same holder look-ups in the same order, the same claimed
keys and entries, and the same results from ``_cy`` and ``_py``. Inputs off
the compiled path (other request and job types, odd keys, ids and scopes,
outcomes no plan makes) must behave identically too.
"""

import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_core.codec import _py
from queue_core.options import EnqueueRequest
from queue_core.types import READY, UNIQUE_SCOPES, Job

TWINS = settings(max_examples=300, deadline=None)
KEYS = ["a", "b", "c", "é", "key-1"]
HOLDERS = {f"{i:025d}": Job(f"{i:025d}", "t", "q", 1, READY, 5) for i in range(3)}

REQUESTS = st.builds(
    EnqueueRequest,
    type=st.just("t"),
    queue=st.just("q"),
    payload=st.just(b"1"),
    priority=st.just(1),
    ready_at=st.none(),
    retry_limit=st.none(),
    unique_key=st.none() | st.sampled_from(KEYS),
    unique_while=st.none() | st.sampled_from(UNIQUE_SCOPES),
)
# Some keys held, each by a holder that some scopes duplicate.
HELD = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(sorted(HOLDERS)))


class _Holder:
    """A ``holder`` callable that records its calls: ``active`` and
    ``exists`` requests duplicate holder 0 and 1, ``queued`` ones holder 0."""

    def __init__(self) -> None:
        self.calls = []

    def __call__(self, holder_id, request):
        self.calls.append((holder_id, request))
        scope = request.unique_while or "queued"
        wanted = {"queued": ("0" * 25,)}.get(scope, ("0" * 25, f"{1:025d}"))
        return HOLDERS[holder_id] if holder_id in wanted else None


def _planned(twin, requests, held):
    holder = _Holder()
    fresh, outcomes = twin.plan_unique(requests, dict(held), holder)
    return fresh, outcomes, holder.calls


@TWINS
@given(requests=st.lists(REQUESTS, max_size=8), held=HELD, as_tuple=st.booleans())
def test_codec_twins_plan_unique_enqueues_identically(cy_codec, requests, held, as_tuple):
    requests = tuple(requests) if as_tuple else requests
    cy = _planned(cy_codec, requests, held)
    py = _planned(_py, requests, held)
    assert cy == py
    fresh, outcomes, _ = py
    if outcomes is None:
        assert cy[0] is requests and fresh is requests
    else:
        assert type(cy[0]) is list and len(outcomes) == len(requests)


@TWINS
@given(requests=st.lists(REQUESTS, max_size=6), held=HELD)
def test_codec_twins_plan_requests_of_other_types_identically(cy_codec, requests, held):
    # Anything with the fields is read by attribute.
    odd = [types.SimpleNamespace(**r._asdict()) for r in requests]
    assert _planned(cy_codec, odd, held) == _planned(_py, odd, held)


def test_plan_unique_finds_repeats_and_duplicated_holders(codec_impl):
    def request(key, scope=None):
        return EnqueueRequest("t", "q", b"1", 1, unique_key=key, unique_while=scope)

    held = {"h": "0" * 25, "free": f"{2:025d}"}
    requests = [
        request(None), request("a"), request("h"), request("a", "exists"),
        request("free"), request("h"), request(None), request("free"),
    ]
    fresh, outcomes, calls = _planned(codec_impl, requests, held)
    holder = HOLDERS["0" * 25]
    assert fresh == [requests[0], requests[1], requests[4], requests[6]]
    assert outcomes == [0, 1, holder, ~1, 2, holder, 3, ~2]
    # Each key's holder is asked once, for the key's first request.
    assert calls == [("0" * 25, requests[2]), (f"{2:025d}", requests[4])]


def test_plan_unique_without_duplicates_makes_every_request(codec_impl):
    requests = [EnqueueRequest("t", "q", b"1", 1, unique_key=k) for k in "abc"]
    fresh, outcomes, calls = _planned(codec_impl, requests, {"a": f"{2:025d}"})
    assert fresh is requests and outcomes is None
    assert calls == [(f"{2:025d}", requests[0])]


JOBS = st.builds(
    Job,
    id=st.integers(0, 10**6).map(lambda i: f"{i:025d}"),
    type=st.just("t"),
    queue=st.just("q"),
    priority=st.just(1),
    status=st.just(READY),
    ready_at=st.just(5),
    unique_key=st.none() | st.sampled_from(KEYS),
    unique_while=st.none() | st.sampled_from(UNIQUE_SCOPES),
)


class _JobSubclass(Job):
    __slots__ = ()


def _claimed(twin, jobs):
    """What ``claim_unique`` leaves (or raises): held keys, writes in order,
    each job's scope."""
    jobs = [_copy(job) for job in jobs]
    held, writes = {"z": "0" * 25}, {b"J": b"x"}
    try:
        twin.claim_unique(jobs, held, writes)
        outcome = "returned"
    except Exception as exc:
        outcome = ("raised", type(exc), str(exc))
    return outcome, held, list(writes.items()), [job.unique_while for job in jobs]


def _copy(job):
    fields = {name: getattr(job, name) for name in Job.__slots__ if hasattr(job, name)}
    return type(job)(**fields)


@TWINS
@given(jobs=st.lists(JOBS, max_size=6))
def test_codec_twins_claim_unique_keys_identically(cy_codec, jobs):
    claimed = _claimed(cy_codec, jobs)
    assert claimed == _claimed(_py, jobs)
    _, held, writes, scopes = claimed
    for job, scope in zip(jobs, scopes):  # a keyed job's scope is never left out
        assert scope == (job.unique_while or job.unique_key and "queued")


@pytest.mark.parametrize(
    "job",
    [
        Job("0" * 25, "t", "q", 1, READY, 5, unique_key="\ud800"),
        Job("0" * 25, "t", "q", 1, READY, 5, unique_key=["unhashable"]),
        Job("é" * 25, "t", "q", 1, READY, 5, unique_key="k"),
        Job("0" * 25, "t", "q", 1, READY, 5, unique_key="k", unique_while="never"),
        Job("0" * 25, "t", "q", 1, READY, 5, unique_key="k", unique_while=b"queued"),
        Job(7, "t", "q", 1, READY, 5, unique_key="k"),
        _JobSubclass("0" * 25, "t", "q", 1, READY, 5, unique_key="k"),
    ],
)
def test_codec_twins_agree_on_odd_jobs_to_claim(cy_codec, job):
    jobs = [Job("1" * 25, "t", "q", 1, READY, 5, unique_key="first"), job]
    assert _claimed(cy_codec, jobs) == _claimed(_py, jobs)


def test_claim_unique_files_holders_and_entries(codec_impl):
    jobs = [
        Job("0" * 25, "t", "q", 1, READY, 5, unique_key="é"),
        Job("1" * 25, "t", "q", 1, READY, 5),
        Job("2" * 25, "t", "q", 1, READY, 5, unique_key="b", unique_while="exists"),
    ]
    held, writes = {}, {}
    codec_impl.claim_unique(jobs, held, writes)
    assert held == {"é": "0" * 25, "b": "2" * 25}
    assert writes == {"Ué".encode(): b"0" * 25 + b"q", b"Ub": b"2" * 25 + b"e"}
    assert [job.unique_while for job in jobs] == ["queued", None, "exists"]


@TWINS
@given(requests=st.lists(REQUESTS, max_size=8), held=HELD)
def test_codec_twins_give_unique_results_identically(cy_codec, requests, held):
    fresh, outcomes, _ = _planned(_py, requests, held)
    jobs = [Job(f"{9:025d}", "t", "q", 1, READY, i) for i in range(len(fresh))]
    if outcomes is None:
        return
    results, duplicates = _py.unique_results(outcomes, jobs)
    assert cy_codec.unique_results(outcomes, jobs) == (results, duplicates)
    assert duplicates.count(False) == len(jobs)
    assert [r for r, d in zip(results, duplicates) if not d] == jobs


@pytest.mark.parametrize("outcomes", [[1], [~1], [2**70], [-(2**70)], [True]])
def test_codec_twins_agree_on_outcomes_no_plan_makes(cy_codec, outcomes):
    jobs = [Job("0" * 25, "t", "q", 1, READY, 5)]

    def outcome(twin):
        try:
            return "returned", twin.unique_results(outcomes, jobs)
        except Exception as exc:
            return "raised", type(exc)

    assert outcome(cy_codec) == outcome(_py)


@pytest.mark.parametrize(
    "args", [("k",), ("é",), ("",), ("\ud800",), (b"k",), (None,)]
)
def test_codec_twins_build_holder_keys_identically(cy_codec, args):
    def outcome(twin):
        try:
            return "returned", twin.holder_key(*args)
        except Exception as exc:
            return "raised", type(exc)

    assert outcome(cy_codec) == outcome(_py)


@pytest.mark.parametrize(
    "args",
    [("0" * 25, "queued"), ("0" * 25, "active"), ("x", "exists"), ("é", "queued"),
     ("0" * 25, "never"), (None, "queued"), ("0" * 25, None)],
)
def test_codec_twins_build_holder_values_identically(cy_codec, args):
    def outcome(twin):
        try:
            return "returned", twin.holder_value(*args)
        except Exception as exc:
            return "raised", type(exc)

    assert outcome(cy_codec) == outcome(_py)
