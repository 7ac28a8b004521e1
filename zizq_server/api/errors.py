"""The one table mapping engine errors to HTTP statuses.

Messages are the engine's (they already carry the spec's exact wording);
this module only chooses the status code.
"""

from queue_core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    QueueError,
    Unprocessable,
)

STATUS_BY_ERROR = (
    (InvalidInput, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unprocessable, 422),
)


def status_for(error: QueueError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500
