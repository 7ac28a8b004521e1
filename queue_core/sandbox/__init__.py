"""jq programs run in bounded worker processes, off the event loop.

``JqPool`` is the engine's one way to run jq: the payload ``filter`` of
the job queries, and a batched enqueue's ``when``/``fold``. See ``pool``
for the bounds and why they are enforced by processes.
"""

from .pool import BatchRefused, JqCompileError, JqLimitExceeded, JqPool

__all__ = ["BatchRefused", "JqCompileError", "JqLimitExceeded", "JqPool"]
