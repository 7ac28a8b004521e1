"""The Jobs section: list, job page and actions, as custom views of an admin.

``JobAdmin`` is registered for the unmanaged ``Job`` model only for the
admin's own wiring (sidebar, permissions, ``admin_view``'s login, CSRF and
``never_cache``); its views replace the changelist and change form. The
list pages by cursor (``after``/``before`` a job id, the API's ``from``),
never by offset. Actions are posted to one view: without ``confirmed`` it
shows what will happen to how many jobs, with it it applies the change
through the engine operations and reports with Django's messages.
Viewing needs ``jobs.view_job``, changing ``jobs.change_job``, deleting
``jobs.delete_job``; a refusal is a message, never a 500.
"""

import time
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from queue_core import filters
from queue_core.ids import is_valid_id
from queue_core.types import STATUS_NAMES

from . import bridge, display, operations
from .forms import CHANGE_ACTIONS, PAGE_SIZE, ActionForm, FilterForm, encode
from .models import Job
from .operations import Refused

_FILTER_ERRORS = ("invalid filter", "filter exceeded")


def _now_ms() -> int:
    return int(time.time() * 1000)


class JobAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.list_view), name="jobs_job_changelist"),
            path("action/", wrap(self.action_view), name="jobs_job_action"),
            path("<path:job_id>/", wrap(self.job_view), name="jobs_job_change"),
        ]

    def _context(self, request, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "actions": _allowed_actions(self, request),
        }

    # -- the list ---------------------------------------------------------------

    def list_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = FilterForm(request.GET)
        context = self._context(request, "Jobs")
        context.update(form=form, jobs=[], has_prev=False, has_next=False)
        if form.is_valid():
            self._fill_page(request, form, context)
        return TemplateResponse(request, "zizq_admin/job_list.html", context)

    def _fill_page(self, request, form, context) -> None:
        order = form.list_order()
        after, before = request.GET.get("after"), request.GET.get("before")
        cursor = after or before
        if cursor is not None and not is_valid_id(cursor):
            messages.error(
                request, f"Not a job id: {cursor!r}; showing the first page."
            )
            after = before = cursor = None
        pairs = form.filter_pairs()
        api_order = filters.opposite(order) if before else order
        query = pairs + [("order", api_order), ("limit", str(PAGE_SIZE))]
        if cursor:
            query.append(("from", cursor))
        try:
            page, more, last_errors = bridge.call(operations.job_page, encode(query))
        except Refused as exc:
            if exc.message.startswith(_FILTER_ERRORS):
                form.add_error("filter", exc.message)
            else:
                messages.error(request, exc.message)
            return
        if before:
            page = page[::-1]
        now = _now_ms()
        base = [(k, v) for k, v in request.GET.lists() if k not in ("after", "before")]
        base_url = reverse("admin:jobs_job_changelist")
        rows = [_row(job, last_errors.get(job.id), now) for job in page]
        for row in rows:  # one reverse() for the page, not one per row
            row["url"] = f"{base_url}{row['id']}/"
        context.update(
            jobs=rows,
            has_prev=bool(page) and (more if before else bool(after)),
            has_next=bool(page) and (True if before else more),
            prev_query=_link(base, "before", page[0].id) if page else "",
            next_query=_link(base, "after", page[-1].id) if page else "",
            api_query=encode(pairs),
            filtered=bool(pairs),
            order=order,
            order_flipped=_link(
                [(k, v) for k, v in base if k != "order"],
                "order",
                filters.opposite(order),
            ),
        )

    # -- one job ------------------------------------------------------------------

    def job_view(self, request, job_id: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        found = bridge.call(operations.job_detail, job_id)
        if found is None:
            messages.error(request, f"No job with id {job_id!r} (job not found).")
            return HttpResponseRedirect(reverse("admin:jobs_job_changelist"))
        job, errors, effective = found
        now = _now_ms()
        context = self._context(request, f"Job {job.id}")
        context.update(
            job=_row(job, errors[-1] if errors else None, now),
            fields=_fields(job, now),
            payload=display.payload(job.payload),
            errors=[_error(record, now) for record in errors],
            effective=_effective(effective),
        )
        return TemplateResponse(request, "zizq_admin/job_detail.html", context)

    # -- actions ------------------------------------------------------------------

    def action_view(self, request):
        back = request.POST.get("back") or reverse("admin:jobs_job_changelist")
        if not back.startswith("/admin/"):
            back = reverse("admin:jobs_job_changelist")
        if request.method != "POST":
            return HttpResponseRedirect(back)
        form = ActionForm(request.POST)
        if not form.is_valid():
            for problems in form.errors.values():
                for problem in problems:
                    messages.error(request, problem)
            return HttpResponseRedirect(back)
        action = form.cleaned_data["action"]
        allowed = (
            self.has_change_permission(request)
            if action in CHANGE_ACTIONS
            else self.has_delete_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        if request.POST.get("confirmed") != "yes":
            return self._confirm(request, form, back)
        self._apply(request, form)
        return HttpResponseRedirect(back)

    def _confirm(self, request, form, back):
        data = form.cleaned_data
        try:
            if data.get("select_across"):
                number = bridge.call(operations.count, data.get("query") or "")
            else:
                number = len(form.id_list)
        except Refused as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(back)
        context = self._context(request, "Are you sure?")
        context.update(
            number=number,
            action_label=dict(form.fields["action"].choices)[data["action"]],
            hidden=form.hidden_pairs(),
            form_data=data,
            back=back,
            ids=form.id_list[:20],
        )
        return TemplateResponse(request, "zizq_admin/confirm.html", context)

    def _apply(self, request, form) -> None:
        data = form.cleaned_data
        deleting = data["action"] == "delete"
        try:
            if data.get("select_across"):
                query = data.get("query") or ""
                done = self._apply_matching(form, query)
                problems = []
            else:
                done, problems = self._apply_each(form, deleting)
        except Refused as exc:
            messages.error(request, exc.message)
            return
        verb = "Deleted" if deleting else "Changed"
        if done or not problems:
            messages.success(request, f"{verb} {done} job{'' if done == 1 else 's'}.")
        for problem in problems[:10]:
            messages.error(request, problem)

    def _apply_matching(self, form, query: str) -> int:
        action = form.cleaned_data["action"]
        if action == "delete":
            return bridge.call(operations.delete_matching, query)
        if action == "retry_now":  # dead matches too, which a patch refuses
            return bridge.call(operations.retry_matching, query, _now_ms())
        if action == "kill":
            return bridge.call(operations.kill_matching, query)
        body = form.patch_body(_now_ms())
        return bridge.call(operations.patch_matching, query, body)

    def _apply_each(self, form, deleting: bool):
        done, problems = 0, []
        body = form.patch_body(_now_ms())  # None: delete or kill
        retrying = form.cleaned_data["action"] == "retry_now"
        for job_id in form.id_list:
            try:
                if deleting:
                    bridge.call(operations.delete_one, job_id)
                elif retrying:  # a dead job too, which a patch refuses
                    bridge.call(operations.retry_one, job_id, _now_ms())
                elif body is None:
                    bridge.call(operations.kill_one, job_id)
                else:
                    bridge.call(operations.patch_one, job_id, body)
                done += 1
            except Refused as exc:
                problems.append(f"{job_id}: {exc.message}")
        return done, problems


def _allowed_actions(model_admin, request) -> list:
    allowed = []
    if model_admin.has_change_permission(request):
        choices = ActionForm.base_fields["action"].choices
        allowed += [choice for choice in choices if choice[0] != "delete"]
    if model_admin.has_delete_permission(request):
        allowed.append(("delete", "Delete"))
    return allowed


def _link(pairs, name: str, value: str) -> str:
    """``?<pairs>&name=value``; ``pairs`` as ``QueryDict.lists()`` gives them."""
    flat = [(key, one) for key, values in pairs for one in values]
    return "?" + urlencode(flat + [(name, value)])


def _row(job, last_error, now: int) -> dict:
    return {
        "id": job.id,
        "type": job.type,
        "queue": job.queue,
        "priority": job.priority,
        "status": STATUS_NAMES[job.status],
        "ready_at": display.moment(job.ready_at, now),
        "attempts": job.attempts,
        "last_error": display.first_line(last_error.message) if last_error else "",
    }


def _fields(job, now: int) -> list:
    rows = [
        ("id", job.id, None),
        ("type", job.type, None),
        ("queue", job.queue, None),
        ("priority", job.priority, None),
        ("status", STATUS_NAMES[job.status], None),
        ("ready_at", None, display.moment(job.ready_at, now)),
        ("attempts", job.attempts, None),
        ("dequeued_at", None, display.moment(job.dequeued_at, now)),
        ("failed_at", None, display.moment(job.failed_at, now)),
        ("completed_at", None, display.moment(job.completed_at, now)),
        ("purge_at", None, display.moment(job.purge_at, now)),
    ]
    if job.unique_key is not None:
        rows.append(("unique_key", job.unique_key, None))
        rows.append(("unique_while", job.unique_while, None))
    if job.batch is not None:
        batch = job.batch
        text = f"key {batch.key}, when {batch.when}, fold {batch.fold}"
        rows.append(("batch", text, None))
    return [
        {"name": name, "value": value, "moment": moment}
        for name, value, moment in rows
        if value is not None or moment
    ]


def _error(record, now: int) -> dict:
    return {
        "attempt": record.attempt,
        "message": record.message,
        "error_type": record.error_type,
        "backtrace": record.backtrace,
        "dequeued_at": display.moment(record.dequeued_at, now),
        "failed_at": display.moment(record.failed_at, now),
    }


def _effective(effective: dict) -> list:
    retry_limit, retry_default = effective["retry_limit"]
    backoff, backoff_default = effective["backoff"]
    completed, completed_default = effective["completed_retention_ms"]
    dead, dead_default = effective["dead_retention_ms"]
    return [
        ("Retry limit", str(retry_limit), retry_default),
        (
            "Backoff",
            f"exponent {backoff.exponent:g}, base {backoff.base_ms} ms, "
            f"jitter {backoff.jitter_ms} ms",
            backoff_default,
        ),
        ("Completed retention", f"{completed} ms", completed_default),
        ("Dead retention", f"{dead} ms", dead_default),
    ]


def register(site) -> None:
    site.register(Job, JobAdmin)
