"""RankedList against a plain sorted list, under random inserts and removals."""

import bisect

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_core.feed import ranked
from queue_core.feed.ranked import RankedList

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.lists(st.integers(0, 3000), max_size=60)),
        st.tuples(st.just("remove"), st.integers(0, 10_000)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 3000), unique=True, max_size=200), OPS, st.data())
def test_ranked_list_agrees_with_a_sorted_list(small_chunks, initial, ops, data):
    got = RankedList(initial)
    want = sorted(initial)
    for op, arg in ops:
        if op == "insert":
            new = sorted(set(arg) - set(want))
            got.insert_sorted(new)
            want = sorted(want + new)
        elif want:
            key = want[arg % len(want)]
            got.remove(key)
            want.remove(key)
        assert list(got) == want and len(got) == len(want)
        start = data.draw(st.integers(-3, len(want) + 3))
        stop = data.draw(st.integers(-3, len(want) + 3))
        assert got.slice(start, stop) == want[max(0, start) : max(0, stop)]
        probe = data.draw(st.integers(-1, 3001))
        assert got.count_below(probe) == bisect.bisect_left(want, probe)
        assert got.count_upto(probe) == bisect.bisect_right(want, probe)
        expected = want.index(probe) if probe in want else None
        assert got.position(probe) == expected


def test_removing_a_missing_key_raises():
    keys = RankedList([1, 3])
    for missing in (0, 2, 4):
        try:
            keys.remove(missing)
        except ValueError:
            continue
        raise AssertionError(f"{missing} removed")


def test_a_long_run_past_the_end_is_cut_into_chunks():
    keys = RankedList(range(10))
    keys.insert_sorted(list(range(10, 10 + 5 * ranked.LOAD)))
    assert all(len(chunk) <= 2 * ranked.LOAD for chunk in keys._chunks)
    assert keys.slice(3 * ranked.LOAD, 3 * ranked.LOAD + 2) == [
        3 * ranked.LOAD,
        3 * ranked.LOAD + 1,
    ]
