"""Route tables as data: path segments (``{}`` = parameter) -> method -> handler.

Literal paths win over patterns (``/jobs/count`` is not ``/jobs/{id}``),
which the router guarantees by looking literal paths up first. The
WebSocket tables map path segments straight to an ASGI consumer; a path
not in them is refused (``api.websocket``).
"""

from .api.admin import backup, compact, events
from .api.primary import ack, enqueue, health, modify, query, take
from .api.primary.cron import entries as cron_entries
from .api.primary.cron import groups as cron_groups

PRIMARY_HTTP = (
    (("health",), {"GET": health.health}),
    (("version",), {"GET": health.version}),
    (("queues",), {"GET": query.queues}),
    (("reset",), {"POST": modify.reset}),
    (
        ("jobs",),
        {
            "POST": enqueue.enqueue_one,
            "GET": query.list_jobs,
            "PATCH": modify.patch_jobs,
            "DELETE": modify.delete_jobs,
        },
    ),
    (("jobs", "count"), {"GET": query.count_jobs}),
    (("jobs", "bulk"), {"POST": enqueue.enqueue_bulk}),
    (("jobs", "take"), {"GET": take.take}),
    (("jobs", "success"), {"POST": ack.success_bulk}),
    (
        ("jobs", "{}"),
        {"GET": query.get_job, "PATCH": modify.patch_job, "DELETE": modify.delete_job},
    ),
    (("jobs", "{}", "success"), {"POST": ack.success}),
    (("jobs", "{}", "failure"), {"POST": ack.failure}),
    (("jobs", "{}", "errors"), {"GET": query.list_errors}),
    (("jobs", "{}", "errors", "{}"), {"GET": query.get_error}),
    (("crons",), {"GET": cron_groups.list_groups, "DELETE": cron_groups.delete_all}),
    (
        ("crons", "{}"),
        {
            "GET": cron_groups.get_group,
            "PUT": cron_groups.put_group,
            "PATCH": cron_groups.patch_group,
            "DELETE": cron_groups.delete_group,
        },
    ),
    (("crons", "{}", "entries"), {"POST": cron_entries.add_entry}),
    (
        ("crons", "{}", "entries", "{}"),
        {
            "GET": cron_entries.get_entry,
            "PUT": cron_entries.put_entry,
            "PATCH": cron_entries.patch_entry,
            "DELETE": cron_entries.delete_entry,
        },
    ),
)

ADMIN_HTTP = (
    (("health",), {"GET": health.health}),
    (("backup",), {"POST": backup.backup}),
    (("compact",), {"POST": compact.compact}),
    (("events",), {"GET": events.not_upgraded}),
)

PRIMARY_WEBSOCKET = ()

ADMIN_WEBSOCKET = ((("events",), events.EventsConsumer.as_asgi()),)
