"""The engine's error tree: one root, one subclass per kind of refusal.

Adapters translate these in exactly one place each (``zizq_server.api.errors``
for HTTP, ``zizq_server.management.base`` for the CLI). The message of an
error is the user-facing text the spec prescribes, so raise sites pass the
exact wording and adapters never rephrase it.
"""


class QueueError(Exception):
    """Root of every error the engine raises on purpose."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidInput(QueueError):
    """Raised when a request's values break a validation rule (HTTP 400)."""


class InvalidQuery(InvalidInput):
    """Raised when query parameters fail to parse or validate (HTTP 400)."""


class Unprocessable(QueueError):
    """Raised when a well-formed request cannot be applied (HTTP 422)."""


class NotFound(QueueError):
    """Raised when the addressed job or record does not exist (HTTP 404)."""


class Conflict(QueueError):
    """Raised when a record to create already exists (HTTP 409)."""


class Forbidden(QueueError):
    """Raised when a feature needs a licence tier that is not loaded (HTTP 403)."""


class StorageError(QueueError):
    """Raised when the storage engine fails or cannot be opened."""
