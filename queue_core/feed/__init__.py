"""The dashboard feed: the ready, in-flight and scheduled lists in order,
kept up from the store's hooks while someone watches (``zizq top`` through
``GET /events``, ADMIN_AND_CLI.md 6.3), and each watcher's windows on them.
"""

from .admin_job import Jobs
from .feed import Feed, Turn, attach, detach
from .find import BACKWARD, END, FORWARD, JOB_ID, LOCATE, START, Found, Query, find
from .lists import IN_FLIGHT_LIST, LIST_NAMES, READY_LIST, SCHEDULED_LIST, JobList
from .view import View, find_result
from .windows import AROUND, FALLBACKS, HEAD, NOWHERE, OFFSET, TAIL, Anchor, Window

__all__ = [
    # the feed and its lifetime
    "Feed",
    "Turn",
    "attach",
    "detach",
    # the lists
    "JobList",
    "LIST_NAMES",
    "READY_LIST",
    "IN_FLIGHT_LIST",
    "SCHEDULED_LIST",
    # windows and subscriptions
    "Anchor",
    "Window",
    "HEAD",
    "TAIL",
    "OFFSET",
    "AROUND",
    "NOWHERE",
    "FALLBACKS",
    "View",
    "Jobs",
    # search
    "find",
    "find_result",
    "Found",
    "Query",
    "START",
    "END",
    "JOB_ID",
    "FORWARD",
    "BACKWARD",
    "LOCATE",
]
