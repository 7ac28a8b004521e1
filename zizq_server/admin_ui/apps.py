"""The admin's Django app: label ``jobs``, so the list lives at /admin/jobs/job/."""

from django.apps import AppConfig


class AdminUiConfig(AppConfig):
    name = "zizq_server.admin_ui"
    label = "jobs"
    verbose_name = "Jobs"
