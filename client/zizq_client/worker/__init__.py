"""The worker: ``Worker`` runs jobs from a take stream; ``zizq-worker`` is
its command line (``cli.py``)."""

from .delays import RetryDelays
from .dispatch import Dispatcher
from .worker import Worker

__all__ = ["Dispatcher", "RetryDelays", "Worker"]
