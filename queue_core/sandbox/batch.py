"""The jq worker's half of a batched enqueue (API.md 7.2.5): dry-run, fold.

Runs inside a worker process (``worker.py`` imports it by path; the pool
imports only its constants), so it imports nothing of the package and
reaches ``jq`` only from the functions that compile.

A request is ``[BATCH, checks, chains, max payload bytes]``, one per
enqueue call, so an enqueue costs one round trip however many of its jobs
are batched and however many fold:

* ``checks``: ``[when, fold, payload]`` of each batched request, in input
  order. Both programs are compiled, then run with ``$existing`` and
  ``$new`` both the payload (the dry-run, step 1). The first failure is the
  whole reply, ``[REFUSED, check index, stage, "when"|"fold", detail]``,
  and nothing else runs.
* ``chains``: ``[target, incoming]`` per key: ``target`` the key's current
  target as ``[when, fold, payload]`` (None: none), ``incoming`` the indexes
  of the checks of the key's ready requests, in order. Each is played as
  steps 2-4: with a target, its ``when`` decides, with ``$existing`` its
  payload and ``$new`` the incoming one; truthy folds (the target's ``fold``
  output is its new payload), falsy seals it and the incoming request
  starts the next target; with none, the incoming request starts one. A
  failing fold, or one whose result is over the payload limit, is the reply
  ``[REFUSED, check index, FOLD, "fold", detail]``.

The reply is ``[OK, results]``, per chain ``[outcomes, payloads]``: an
outcome per incoming request, None when it starts a target, else the target
it folded into (0: the initial one, k + 1: the one incoming request k of the
chain started); ``payloads``: ``[target, final payload]`` for each target
folded into.

Programs are compiled once per expression text (a fold step's ``when``
and ``fold`` as one program, once per pair) and kept in the worker's
cache. The input ``.`` must be null, so a program runs as
``. as [$existing, $new] | null | (program)`` on ``[existing, new]`` JSON
text: the payloads are parsed by libjq, and a fold's value comes back as
``tojson``'s text, never as Python objects. Every run is armed with the
worker's time bound for the size of its input.
"""

OK = 0
REFUSED = 2
EXPRESSION = 0  # a compile error
DRY_RUN = 1  # a runtime error, or a bad fold output, in the dry-run
FOLD = 2  # a runtime error, a bad output or an oversized result of a fold

_BIND = ". as [$existing, $new] | null | "
# The first output of ``when``, as a boolean (none: no output).
_WHEN = _BIND + "first(({}\n)) | (. != false and . != null)"
# Up to two outputs of ``fold``, each as JSON text.
_FOLD = _BIND + "[limit(2; ({}\n)) | tojson]"
# A fold step: the target's ``when`` (a runtime error or no output is
# falsy), then, if it is truthy, ``_FOLD``'s list; else false.
_STEP = (
    _BIND + "if (try first(({}\n)) catch false) | (. != false and . != null) "
    "then [limit(2; ({}\n)) | tojson] else false end"
)
_NO_OUTPUT = "fold expression produced no output"
_MANY_OUTPUTS = "fold expression produced more than one output"


class Refusal(Exception):
    def __init__(self, stage: int, which: str, detail: str) -> None:
        super().__init__(detail)
        self.reply = [stage, which, detail]
        self.index = None  # the check it refuses, once known


def handle(worker, checks: list, chains: list, max_bytes: int) -> list:
    for index, (when, fold, payload) in enumerate(checks):
        try:
            _dry_run(worker, when, fold, payload)
        except Refusal as refusal:
            return [REFUSED, index, *refusal.reply]
    results = []
    for target, incoming in chains:
        try:
            results.append(_play(worker, target, incoming, checks, max_bytes))
        except Refusal as refusal:
            return [REFUSED, refusal.index, *refusal.reply]
    return [OK, results]


def _dry_run(worker, when: str, fold: str, payload: bytes) -> None:
    when_program = _program(worker, "when", when, _compile_when)
    fold_program = _program(worker, "fold", fold, _compile_fold)
    both = b"[" + payload + b"," + payload + b"]"
    try:
        _truthy(worker, when_program, both)
    except ValueError as exc:
        raise Refusal(DRY_RUN, "when", str(exc)) from None
    try:
        _output(worker, fold_program, both)
    except ValueError as exc:
        raise Refusal(DRY_RUN, "fold", str(exc)) from None


def _play(worker, target, incoming: list, checks: list, max_bytes: int) -> list:
    current, ref = target, 0 if target is not None else None
    outcomes, folded = [], {}
    for step, index in enumerate(incoming):
        when, fold, payload = checks[index]
        if current is not None:
            try:
                result = _fold(worker, current, payload, max_bytes)
            except Refusal as refusal:
                refusal.index = index
                raise
            if result is not None:
                current[2] = folded[ref] = result
                outcomes.append(ref)
                continue
        current, ref = [when, fold, payload], step + 1
        outcomes.append(None)
    return [outcomes, list(folded.items())]


def _fold(worker, target: list, new: bytes, max_bytes: int):
    """The target's new payload, or None when its ``when`` is falsy.

    ``when`` and ``fold`` run as one program (``_STEP``), so the payloads
    are parsed once.
    """
    when, fold, existing = target
    both = b"[" + existing + b"," + new + b"]"
    try:
        program = worker.program((when, fold), _compile_step)
        worker.arm(len(both))
        outputs = program.input_text(both.decode()).all()
        if not outputs or outputs[0] is False:
            return None
        result = _single(outputs[0])
    except ValueError as exc:
        raise Refusal(FOLD, "fold", str(exc)) from None
    if len(result) > max_bytes:
        raise Refusal(
            FOLD,
            "fold",
            f"the folded payload is {len(result)} bytes, "
            f"over the limit of {max_bytes} bytes",
        )
    return result


def _program(worker, which: str, text: str, compile):
    try:
        return worker.program(text, compile)
    except ValueError as exc:
        raise Refusal(EXPRESSION, which, str(exc)) from None


def _truthy(worker, program, both: bytes) -> bool:
    """Whether ``when``'s first output is truthy; ValueError on an error."""
    worker.arm(len(both))
    return program.input_text(both.decode()).all() == [True]


def _output(worker, program, both: bytes) -> bytes:
    """``fold``'s one output as JSON text; ValueError on an error or on no
    output or more than one."""
    worker.arm(len(both))
    return _single(program.input_text(both.decode()).first())


def _single(outputs: list) -> bytes:
    if not outputs:
        raise ValueError(_NO_OUTPUT)
    if len(outputs) > 1:
        raise ValueError(_MANY_OUTPUTS)
    return outputs[0].encode()


def _compile_when(text: str):
    return _compile(_WHEN, text)


def _compile_fold(text: str):
    return _compile(_FOLD, text)


def _compile_step(texts: tuple):
    import jq  # only ever compiled in a worker process

    return jq.compile(_STEP.format(*texts))


def _compile(wrapper: str, text: str):
    """``text`` inside ``wrapper``; a compile error is reported on ``text``
    as the client wrote it, with its two variables defined."""
    import jq  # only ever compiled in a worker process

    try:
        return jq.compile(wrapper.format(text))
    except ValueError:
        jq.compile(text, args={"existing": None, "new": None})
        raise
