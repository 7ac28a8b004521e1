"""No-op jobs for the benchmark (importable by worker processes)."""

import zizq_client as zizq


@zizq.job(queue="bench", type="bench.noop")
def noop(n: int) -> None:
    pass


@zizq.job(queue="bench", type="bench.anoop")
async def anoop(n: int) -> None:
    pass
