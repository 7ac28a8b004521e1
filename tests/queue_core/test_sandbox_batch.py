"""The jq worker's batch requests: dry-runs, chains of folds, bounds, cache.

Through real worker processes (``jq_run``), except the cache test, which
drives a ``Worker`` in this process to count what it compiles.
"""

import orjson
import pytest

from queue_core.sandbox import BatchRefused, JqLimitExceeded, JqPool, batch, worker

from .jq_loop import jq_run, run_with_pool  # noqa: F401 (a fixture)

WHEN = "(($existing | .ids) + ($new | .ids)) | length <= 3"
FOLD = "$existing | .ids += ($new | .ids)"


def ids(*values) -> bytes:
    return orjson.dumps({"ids": list(values)})


def check(*values, when=WHEN, fold=FOLD) -> list:
    return [when, fold, ids(*values)]


def test_a_chain_folds_seals_and_folds_into_what_it_started(jq_run):
    checks = [check("b"), check("c", "d"), check("e"), check("x")]
    chains = [[[WHEN, FOLD, ids("a")], [0, 1, 2]], [None, [3]]]
    results = jq_run(lambda pool: pool.batch(checks, chains, 1000))
    # b folds into the initial target; c, d seal it and start target 2 (the
    # one the chain's step 1 started); e folds into that; x starts one.
    assert results == [
        [[0, None, 2], [[0, ids("a", "b")], [2, ids("c", "d", "e")]]],
        [[None], []],
    ]


def test_the_targets_expressions_decide_not_the_incoming_ones(jq_run):
    checks = [check("b", when="false", fold="$new")]
    chains = [[[WHEN, FOLD, ids("a")], [0]]]
    results = jq_run(lambda pool: pool.batch(checks, chains, 1000))
    assert results == [[[0], [[0, ids("a", "b")]]]]


def test_the_first_refused_check_is_the_reply(jq_run):
    checks = [check("a"), check("b", fold="$existing, $new"), check("c", when=".[")]

    async def body(pool):
        with pytest.raises(BatchRefused) as caught:
            await pool.batch(checks, [[None, [0, 1, 2]]], 1000)
        return caught.value

    refused = jq_run(body)
    assert (refused.index, refused.message) == (
        1,
        "batch dry-run: fold: fold expression produced more than one output",
    )


def test_a_fold_is_refused_at_the_incoming_check(jq_run):
    fails = '$new | if .ids[0] == "c" then error("no c") else $existing end'
    checks = [check("b"), check("c")]
    chains = [[[WHEN, fails, ids("a")], [0, 1]]]

    async def body(pool):
        with pytest.raises(BatchRefused) as caught:
            await pool.batch(checks, chains, 1000)
        return caught.value

    refused = jq_run(body)
    assert (refused.index, refused.message) == (1, "batch fold failed: no c")


def test_a_deeply_nested_fold_result_is_text_not_objects(jq_run):
    nested = "$new | reduce range(100000) as $i (.; [.])"
    checks = [check("b", when="true", fold=nested)]
    results = jq_run(lambda pool: pool.batch(checks, [[None, [0]]], 1 << 24))
    assert results == [[[None], []]]
    chains = [[["true", nested, ids("a")], [0]]]
    ((outcomes, [(ref, payload)]),) = jq_run(
        lambda pool: pool.batch(checks, chains, 1 << 24)
    )
    assert outcomes == [0] and payload.startswith(b"[" * 1000)


def test_a_runaway_fold_is_stopped_at_the_time_limit():
    loops = 'if $new.ids == ["go"] then (def f: f; f) else $new end'
    chains = [[["true", loops, ids("a")], [0]]]

    async def body(pool):
        with pytest.raises(JqLimitExceeded) as caught:
            await pool.batch([check("go", when="true")], chains, 1000)
        return caught.value.limit

    assert run_with_pool(body, time_limit_ms=100) == "the time limit of 100 ms"


def test_a_stream_of_folds_compiles_each_expression_once(monkeypatch):
    compiled = []
    real, real_step = batch._compile, batch._compile_step

    def counting(wrapper, text):
        compiled.append(text)
        return real(wrapper, text)

    def counting_steps(texts):
        compiled.append(texts)
        return real_step(texts)

    monkeypatch.setattr(batch, "_compile", counting)
    monkeypatch.setattr(batch, "_compile_step", counting_steps)
    monkeypatch.setattr(worker, "batch", batch, raising=False)  # as __main__ binds it
    monkeypatch.setattr(worker, "jq", pytest.importorskip("jq"), raising=False)
    here = worker.Worker(1000, 250)
    for n in range(50):
        target = [WHEN, FOLD, ids("a")]
        reply = here.handle(worker.BATCH, [check(str(n))], [[target, [0]]], 1000)
        assert reply == [batch.OK, [[[0], [(0, ids("a", str(n)))]]]]
    assert compiled == [WHEN, FOLD, (WHEN, FOLD)]
    assert len(here.programs) == 3
