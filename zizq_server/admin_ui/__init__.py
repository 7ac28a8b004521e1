"""The Django admin of a running server: dashboard, job list, job page, actions.

Mounted under ``/admin/`` on the admin listener (``zizq_server.asgi``). Users
and sessions are Django's, in SQLite in the root directory
(``database``); job data never goes through the ORM: the views read and
change the running store through the server's event loop (``bridge``),
with the same engine operations the HTTP API calls.
"""
