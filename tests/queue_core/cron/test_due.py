"""The cron time index: buckets of keys by next occurrence (cron.due)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_core.cron.due import DueIndex


def test_keys_come_out_earliest_first_and_in_order_within_a_time():
    due = DueIndex()
    due.add("b", 20)
    due.add("a", 10)
    due.add_many(["c", "d"], 20)
    assert len(due) == 4 and due.get("c") == 20
    assert due.peek() == (10, "a")
    assert due.peek_due(20, 3) == ["a", "b", "c"]
    assert due.pop_due(20, 3) == ["a", "b", "c"]
    assert due.get("a") is None and len(due) == 1
    assert due.pop_due(19, 10) == []
    assert due.pop_due(20, 10) == ["d"]
    assert due.peek() is None and due.pop_due(99, 10) == []


def test_adding_again_moves_a_key_and_removing_empties_its_time():
    due = DueIndex()
    due.add_many(["a", "b"], 10)
    due.add("a", 30)
    due.remove("b")
    due.remove("b")  # not there: nothing happens
    assert due.peek() == (30, "a")
    due.add("b", 10)
    assert due.pop_due(50, 10) == ["b", "a"]


def test_the_heap_of_times_is_rebuilt_when_emptied_times_pile_up():
    due = DueIndex()
    due.add("kept", 1)
    for at in range(2, 1000):
        due.add("moving", at)  # each move empties the time before
    assert len(due._times) < 200
    assert due.pop_due(10**6, 10) == ["kept", "moving"]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from("abcdefgh"), st.integers(0, 5)),
        st.tuples(st.just("remove"), st.sampled_from("abcdefgh"), st.just(0)),
        st.tuples(st.just("pop"), st.integers(0, 5), st.integers(1, 4)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_the_index_agrees_with_a_sorted_list(ops):
    """Against a model: (time, arrival) pairs, sorted on every pop."""
    due, model, arrivals = DueIndex(), {}, 0
    for op, a, b in ops:
        if op == "add":
            arrivals += 1
            model[a] = (b, arrivals)
            due.add(a, b)
        elif op == "remove":
            model.pop(a, None)
            due.remove(a)
        else:
            expected = sorted((at, n, key) for key, (at, n) in model.items() if at <= a)
            expected = [key for _, _, key in expected[:b]]
            assert due.peek_due(a, b) == expected
            assert due.pop_due(a, b) == expected
            for key in expected:
                del model[key]
        assert len(due) == len(model)
        head = min(((at, n, key) for key, (at, n) in model.items()), default=None)
        assert due.peek() == (None if head is None else (head[0], head[2]))
