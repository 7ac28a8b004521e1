"""Database connections around sync jobs: ``CloseOldConnections`` calls
``close_old_connections()`` before and after every sync job, as Django's
request cycle does around a request, so a worker thread never runs a job
on a connection that broke or outlived ``CONN_MAX_AGE`` while it idled.

``manage.py zizq_worker`` installs it for every job, ``@zizq.job`` and
``django.tasks`` alike; a ``Worker`` built by hand in a Django process
should list it in its ``middleware``. Async jobs are left alone: Django's
ORM is reached from them through ``sync_to_async`` threads of its own.
"""

from django.db import close_old_connections

from ...middleware import Middleware


class CloseOldConnections(Middleware):
    """Dispatch middleware closing stale connections around sync jobs."""

    def dispatch(self, job, call_next):
        close_old_connections()
        try:
            return call_next(job)
        finally:
            close_old_connections()
