"""Per-operation cost of the hot paths: compiled twin against the reference.

    .venv/bin/python bench/micro_hotpaths.py [--quick]

Prints one table of microseconds per call for ``_py`` and ``_cy`` side by
side, with the ratio. The machine is shared and noisy, so each figure is
the best of several timing runs (the least disturbed one), and the empty
call loop is subtracted. Index figures are steady-state: the heap holds
``--depth`` jobs while one is added and one claimed per operation.
"""

import argparse
import importlib
import os
import sys
import timeit

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from queue_core.ids import new_id  # noqa: E402
from queue_core.types import Backoff, Job, Retention  # noqa: E402

PAYLOAD = orjson.dumps({"data": "x" * 89})


def _jobs():
    plain = Job(new_id(), "send_email", "default", 32768, 1, 1773392027425, 0)
    plain.payload = PAYLOAD
    full = Job(
        new_id(),
        "send_email",
        "default",
        100,
        1,
        1773392027425,
        3,
        25,
        Backoff(4.0, 15000, 30000),
        1773392027425,
        1773392027425,
        Retention(None, 86400000),
        None,
        None,
        "signup:42",
        "queued",
        None,
        PAYLOAD,
    )
    return plain, full


def _codec_cases(codec):
    plain, full = _jobs()
    record, full_record = codec.encode_job(plain), codec.encode_job(full)
    key = codec.index_key(1, "default", plain.id)
    return [
        ("codec.job_key", lambda: codec.job_key(plain.id)),
        ("codec.index_key", lambda: codec.index_key(1, "default", plain.id)),
        ("codec.parse_index_key", lambda: codec.parse_index_key(key)),
        ("codec.encode_job", lambda: codec.encode_job(plain)),
        ("codec.encode_job (all fields)", lambda: codec.encode_job(full)),
        ("codec.decode_job", lambda: codec.decode_job(plain.id, record)),
        (
            "codec.decode_job (all fields)",
            lambda: codec.decode_job(full.id, full_record),
        ),
        ("codec.job_to_json", lambda: codec.job_to_json(plain, True)),
        ("codec.job_to_json (all fields)", lambda: codec.job_to_json(full, True)),
        ("codec.job_to_obj", lambda: codec.job_to_obj(plain, True)),
        ("codec.enqueued_to_obj", lambda: codec.enqueued_to_obj(plain, False, False)),
        ("codec.format_id", lambda: codec.format_id(1773392027425, 0xABCDEF, 0x123456, 0xDEADBEEF)),
    ]


def _index_cases(index, depth, ids):
    ready = index.ReadyIndex()
    for job_id in ids[:depth]:
        ready.add(job_id, "default", 32768)
    fresh = iter(ids[depth:])
    queues = frozenset({"default"})
    scheduled = index.TimeIndex()
    for n, job_id in enumerate(ids[:depth]):
        scheduled.add(job_id, n)
    later = iter(ids[depth:])
    clock = iter(range(depth, len(ids)))

    def add_pop(queues):
        ready.add(next(fresh), "default", 32768)
        ready.pop_best(queues)

    def schedule_promote():
        now = next(clock)
        scheduled.add(next(later), now)
        scheduled.pop_due(now - depth, 1)

    return [
        ("index.ReadyIndex add+pop_best(queues)", lambda: add_pop(queues)),
        ("index.ReadyIndex add+pop_best(None)", lambda: add_pop(None)),
        ("index.TimeIndex add+pop_due", schedule_promote),
    ]


def _scheduling_cases(scheduling):
    return [
        (
            "scheduling.backoff_delay_ms",
            lambda: scheduling.backoff_delay_ms(3, 4.0, 15000, 30000, 0.5),
        ),
    ]


def _time(fn, number: int, repeat: int) -> float:
    """Best microseconds per call, the cost of an empty call taken off."""
    best = min(timeit.repeat(fn, number=number, repeat=repeat))
    empty = min(timeit.repeat(lambda: None, number=number, repeat=repeat))
    return max(best - empty, 0.0) / number * 1e6


def _twins(package: str):
    py = importlib.import_module(f"queue_core.{package}._py")
    try:
        cy = importlib.import_module(f"queue_core.{package}._cy")
    except ImportError as exc:
        sys.exit(f"queue_core.{package}._cy is not built ({exc}); run pip install -e .")
    return py, cy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    parser.add_argument(
        "--depth", type=int, default=1000, help="jobs held in the index (1000)"
    )
    args = parser.parse_args()
    number, repeat = (20_000, 3) if args.quick else (100_000, 7)
    ids = [new_id() for _ in range(args.depth + number * repeat * 2 + 10)]
    rows = []
    for package, cases in [
        ("index", lambda m: _index_cases(m, args.depth, ids)),
        ("codec", _codec_cases),
        ("scheduling", _scheduling_cases),
    ]:
        py, cy = _twins(package)
        for (name, py_fn), (_, cy_fn) in zip(cases(py), cases(cy), strict=True):
            rows.append(
                (name, _time(py_fn, number, repeat), _time(cy_fn, number, repeat))
            )
    width = max(len(name) for name, _, _ in rows)
    print("operation".ljust(width), "   py us    cy us   py/cy")
    for name, py_us, cy_us in rows:
        ratio = py_us / cy_us if cy_us else float("inf")
        print(name.ljust(width), f"{py_us:8.3f} {cy_us:8.3f} {ratio:6.1f}x")


if __name__ == "__main__":
    main()
