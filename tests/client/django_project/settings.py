"""A small Django project whose tasks run on Zizq (the client's tests)."""

import os

SECRET_KEY = "tests-only"
USE_TZ = True
INSTALLED_APPS = [
    "django_tasks",
    "zizq_client.contrib.django",
    "tests.client.django_project.shop",
]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SHOP_DB"]}
}
TASKS = {
    "default": {
        "BACKEND": "zizq_client.contrib.django.backend.ZizqBackend",
        "QUEUES": ["default", "mail"],
        "OPTIONS": {"url": os.environ["ZIZQ_URL"], "format": "json"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
