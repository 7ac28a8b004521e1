"""Per-minute throughput from samples of the store's running totals."""

from zizq_server.admin_ui.throughput import MINUTES, per_minute

MINUTE = 60_000


def test_each_minute_counts_what_its_last_sample_added():
    now = 100 * MINUTE + 30_000
    samples = [
        (98 * MINUTE + 5_000, 10, 4, 1),
        (99 * MINUTE + 50_000, 25, 10, 1),
        (100 * MINUTE + 20_000, 27, 10, 3),
    ]
    rows = per_minute(samples, now)
    assert len(rows) == MINUTES
    assert rows[-1] == {"t": 100 * MINUTE, "enqueued": 2, "completed": 0, "failed": 2}
    assert rows[-2] == {"t": 99 * MINUTE, "enqueued": 15, "completed": 6, "failed": 0}
    # The totals start at zero with the store: the first minute counts from 0.
    assert rows[-3] == {"t": 98 * MINUTE, "enqueued": 10, "completed": 4, "failed": 1}
    assert all(row["enqueued"] == 0 for row in rows[:-3])


def test_samples_older_than_the_hour_are_only_the_baseline():
    now = 200 * MINUTE
    samples = [(100 * MINUTE, 1_000, 0, 0), (199 * MINUTE + 1, 1_005, 0, 0)]
    rows = per_minute(samples, now)
    assert rows[0]["t"] == now - (MINUTES - 1) * MINUTE
    assert [row["enqueued"] for row in rows if row["enqueued"]] == [5]
