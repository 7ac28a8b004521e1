"""manage.py of the test project (run with the repository root as cwd)."""

import os
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE", "tests.client.django_project.settings"
    )
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
