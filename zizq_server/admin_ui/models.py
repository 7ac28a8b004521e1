"""The one model: an unmanaged, table-less ``Job`` (django-rq's pattern).

It exists for the admin's sidebar entry and Django's permissions
(``jobs.view_job``, ``jobs.change_job``, ``jobs.delete_job``); no row is
ever read or written. Jobs themselves live in the store.
"""

from django.db import models


class Job(models.Model):
    class Meta:
        managed = False
        default_permissions = ("view", "change", "delete")
        verbose_name = "job"
        verbose_name_plural = "jobs"
