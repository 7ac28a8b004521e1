"""The ``zizq_server`` Django app: registered so its management commands load.

``ready()`` stays empty of work: every ``zizq`` command pays for app loading
before it starts, and the server builds its runtime in ``serve.lifecycle``.
"""

from django.apps import AppConfig


class ZizqServerConfig(AppConfig):
    name = "zizq_server"
    verbose_name = "Zizq"
