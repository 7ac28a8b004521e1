"""The admin site: Django's, with the dashboard on its index page.

The index shows, above the app list, the per-queue status counts (each a
link to the filtered job list), the server's version, uptime, licence
tier, connected workers and in-flight total, the throughput chart, which
a small script keeps current by polling ``throughput.json``, and, when the
licence allows cron scheduling, every cron group and entry with its next
and last fire times.
"""

import time

from django.contrib import admin
from django.http import JsonResponse
from django.urls import path

from . import bridge, operations, throughput


class ZizqAdminSite(admin.AdminSite):
    site_header = "Zizq administration"
    site_title = "Zizq admin"
    index_title = "Dashboard"
    index_template = "zizq_admin/index.html"

    def get_urls(self):
        own = [
            path(
                "throughput.json",
                self.admin_view(self.throughput_view),
                name="zizq_throughput",
            )
        ]
        return own + super().get_urls()

    def index(self, request, extra_context=None):
        context = {
            "overview": bridge.call(operations.overview),
            "crons": bridge.call(operations.cron_groups, int(time.time() * 1000)),
        }
        context.update(extra_context or {})
        return super().index(request, context)

    def throughput_view(self, request):
        return JsonResponse(
            {
                "minutes": bridge.call(throughput.minutes),
                "overview": bridge.call(operations.overview),
            }
        )


site = ZizqAdminSite(name="admin")
