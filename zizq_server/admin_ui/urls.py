"""The admin listener's Django URLs: the admin site under /admin/, nothing else."""

from django.urls import path

from .job_admin import register
from .site import site

register(site)

urlpatterns = [path("admin/", site.urls)]
