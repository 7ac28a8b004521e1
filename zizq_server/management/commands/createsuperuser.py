"""``zizq createsuperuser``: Django's, after creating and migrating the database.

The same command as ``python manage.py createsuperuser`` (``--noinput`` with
``DJANGO_SUPERUSER_USERNAME``/``DJANGO_SUPERUSER_PASSWORD`` works as in
Django), run against the admin database of the root directory
(``--root-dir``, before or after the command name, or ``ZIZQ_ROOT_DIR``),
which need not exist yet: ``serve``
would create it the same way.
"""

from django.conf import settings
from django.contrib.auth.management.commands import createsuperuser

from zizq_server.admin_ui import database


class Command(createsuperuser.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--root-dir",
            metavar="PATH",
            help="root directory [env: ZIZQ_ROOT_DIR] (for manage.py)",
        )

    def execute(self, *args, **options):
        database.prepare(options.pop("root_dir", None) or settings.ZIZQ["root_dir"])
        return super().execute(*args, **options)
