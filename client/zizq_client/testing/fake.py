"""A buffering fake client: enqueues are recorded, not sent, and can then
be run through the real dispatcher and middleware.

It follows the Node client's ``TestClient``: read and worker calls raise
``NotSupported`` on purpose (a test that needs them wants a real server:
``zizq_server``), nothing is ever retried, and a recursive drain (jobs
that enqueue jobs) stops after ``max_iterations`` so a job that enqueues
itself cannot loop forever.
"""

import asyncio
import functools
import inspect
import itertools

from .. import registry
from ..errors import NotSupported
from ..jobs import arguments_of
from ..models import Job, now_ms
from ..params import job_params
from ..worker.dispatch import Dispatcher

_ids = itertools.count(1)


def _fake_job(params: dict) -> Job:
    ready_at = params.get("ready_at", now_ms())
    status = "scheduled" if ready_at > now_ms() else "ready"
    return Job(
        {
            "id": f"fake{next(_ids):021d}",
            "priority": 32768,
            **params,
            "status": status,
            "ready_at": ready_at,
            "attempts": 0,
        }
    )


class FakeClient:
    """Records enqueues; ``enqueued()`` inspects, ``drain()`` runs them."""

    def __init__(self, middleware=()) -> None:
        self.middleware = list(middleware)
        self.jobs: list = []
        self.aio = _AsyncFacade(self)

    def enqueue_params(self, params: dict) -> Job:
        return self.enqueue_bulk([params])[0]

    def enqueue_raw(self, *, queue: str, type: str, payload, **options) -> Job:
        return self.enqueue_params(
            job_params(queue=queue, type=type, payload=payload, **options)
        )

    def enqueue_bulk(self, jobs: list) -> list:
        made = [_fake_job(params) for params in jobs]
        self.jobs += made
        return made

    def enqueued(self, job=None, *args, **kwargs) -> list:
        """Buffered jobs of ``job`` (a declared job or a type name, None for
        all) whose arguments include these."""
        type_name = getattr(job, "type_name", job)
        if getattr(job, "model", None) is not None:
            match = _model_matcher(job, args, kwargs)
        else:
            fn = getattr(job, "fn", None)
            match = functools.partial(_matches, fn, args=args, kwargs=kwargs)
        return [
            j
            for j in self.jobs
            if (type_name is None or j.type == type_name) and match(j.payload)
        ]

    def clear(self) -> None:
        self.jobs.clear()

    def drain(self, *, recursive: bool = True, max_iterations: int = 1000) -> list:
        """Run buffered jobs in order through the dispatcher (exceptions
        propagate); with ``recursive``, also the jobs they enqueue, else
        those stay buffered."""
        dispatcher, done = Dispatcher(self.middleware, "fake"), []
        remaining = None if recursive else len(self.jobs)
        while self.jobs and remaining != 0:
            if len(done) >= max_iterations:
                raise RuntimeError(f"drain stopped after {max_iterations} jobs")
            job = self.jobs.pop(0)
            done.append(job)
            self._run(dispatcher, job)
            remaining = None if remaining is None else remaining - 1
        return done

    @staticmethod
    def _run(dispatcher: Dispatcher, job: Job) -> None:
        job.status, job.dequeued_at = "in_flight", now_ms()
        if registry.resolve(job.type).is_async:
            asyncio.run(dispatcher.call_async(job))
        else:
            dispatcher.call_sync(job)

    def __getattr__(self, name: str):
        raise NotSupported(f"FakeClient does not fake {name}(): use zizq_server")


class _AsyncFacade:
    """The same buffer behind the asyncio client's enqueue calls."""

    def __init__(self, fake: FakeClient) -> None:
        self._fake = fake

    async def enqueue_params(self, params: dict) -> Job:
        return self._fake.enqueue_params(params)

    async def enqueue_bulk(self, jobs: list) -> list:
        return self._fake.enqueue_bulk(jobs)

    async def enqueue_raw(self, **fields) -> Job:
        return self._fake.enqueue_raw(**fields)

    def __getattr__(self, name: str):
        raise NotSupported(f"FakeClient does not fake {name}(): use zizq_server")


def _model_matcher(job, args: tuple, kwargs: dict):
    """A typed job's payloads equal to the object given, or with these
    field values."""
    if args:
        wanted = job.model.dump(args[0])
        return lambda payload: payload == wanted
    return lambda payload: all(
        k in payload and payload[k] == v for k, v in kwargs.items()
    )


def _matches(fn, payload, args: tuple, kwargs: dict) -> bool:
    """Whether the call in ``payload`` includes these arguments: by name
    when the function is known (positional or keyword alike), else as
    written."""
    job_args, job_kwargs = arguments_of(payload)
    if fn is not None:
        signature = inspect.signature(fn)
        wanted = signature.bind_partial(*args, **kwargs).arguments
        given = signature.bind_partial(*job_args, **job_kwargs).arguments
        return all(k in given and given[k] == v for k, v in wanted.items())
    if list(args) != job_args[: len(args)]:
        return False
    return all(k in job_kwargs and job_kwargs[k] == v for k, v in kwargs.items())
