"""Running totals of jobs enqueued, completed and failed since the store opened.

Three integers, each bumped once per operation call (by the batch's size
for bulk calls), so their cost per job is one addition at most. Readers
sample them to get rates: the admin's throughput chart
(``zizq_server.admin_ui.throughput``) keeps the last hour of per-minute
differences. They are not persisted: a restart starts them at zero.
"""


class Totals:
    __slots__ = ("enqueued", "completed", "failed")

    def __init__(self) -> None:
        self.enqueued = 0
        self.completed = 0
        self.failed = 0

    def sample(self) -> tuple[int, int, int]:
        return self.enqueued, self.completed, self.failed
