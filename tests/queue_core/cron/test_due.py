"""The cron time index: buckets of keys by time (cron.due)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_core.cron.due import DueIndex


def test_keys_come_out_earliest_first_and_in_order_within_a_time():
    due = DueIndex()
    due.add("b", 20)
    due.add("a", 10)
    due.add_many(["c", "d"], 20)
    assert due.peek() == 10
    assert due.peek_due(20, 3) == ["a", "b", "c"]
    assert due.pop_due(20, 3) == ["a", "b", "c"]
    assert due.peek() == 20
    assert due.pop_due(19, 10) == []
    assert due.pop_due(20, 10) == ["d"]
    assert due.peek() is None and due.pop_due(99, 10) == []


def test_a_key_added_again_is_there_twice():
    """Its entry decides which one counts (store.cron_fire)."""
    due = DueIndex()
    due.add_many(["a", "b"], 10)
    due.add("a", 30)
    due.add("a", 10)
    assert due.pop_due(50, 10) == ["a", "b", "a", "a"]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.sampled_from("abcd")), st.integers(0, 5)),
        st.tuples(st.just("pop"), st.integers(0, 5), st.integers(1, 4)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_the_index_agrees_with_a_sorted_list(ops):
    """Against a model: (time, arrival, key), sorted on every pop."""
    due, model, arrivals = DueIndex(), [], 0
    for op, a, b in ops:
        if op == "add":
            due.add_many(a, b)
            for key in a:
                arrivals += 1
                model.append((b, arrivals, key))
        else:
            model.sort()
            taken = [item for item in model if item[0] <= a][:b]
            expected = [key for _, _, key in taken]
            assert due.peek_due(a, b) == expected
            assert due.pop_due(a, b) == expected
            model = [item for item in model if item not in taken]
        assert due.peek() == min((t for t, _, _ in model), default=None)
