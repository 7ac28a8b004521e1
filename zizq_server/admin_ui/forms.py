"""The job list's filter form and the action form, both spoken in the API's terms.

``FilterForm`` turns what the operator typed into a ``GET /jobs`` query
string; each field is checked by the API's own parser
(``queue_core.filters``), so a bad range or list gets the API's message on
that field. The jq filter is compiled by the store when the list is read,
and its error is put on the field then. ``ActionForm`` carries one action
over a selection of ids or over everything a query matches.
"""

import datetime
from urllib.parse import quote, urlencode

from django import forms

from queue_core import filters
from queue_core.defaults import MAX_U64

STATUS_CHOICES = [(name, name) for name in filters.STATUSES]
PAGE_SIZE = 50


def _ms(value: datetime.datetime) -> int:
    return int(value.timestamp() * 1000)


def encode(pairs) -> str:
    """A query string the API's parser reads back exactly."""
    return urlencode(pairs, quote_via=quote, safe=".,")


class FilterForm(forms.Form):
    status = forms.MultipleChoiceField(
        choices=STATUS_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    queue = forms.CharField(required=False, help_text="one or more, comma-separated")
    type = forms.CharField(required=False, help_text="one or more, comma-separated")
    priority = forms.CharField(required=False, help_text="e.g. 5, 0..100, 10..")
    ready_from = forms.DateTimeField(required=False, label="Ready at from (UTC)")
    ready_to = forms.DateTimeField(required=False, label="Ready at to (UTC)")
    filter = forms.CharField(
        required=False,
        label="jq filter",
        help_text="over the payload, e.g. .user_id == 42",
        widget=forms.TextInput(attrs={"size": 40}),
    )
    order = forms.ChoiceField(
        choices=[(filters.ASC, "ascending"), (filters.DESC, "descending")],
        required=False,
    )

    def _api_checked(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        if value:
            try:
                filters.parse_job_filter(encode([(name, value)]))
            except Exception as exc:  # the parser's refusals all carry a message
                raise forms.ValidationError(getattr(exc, "message", str(exc)))
        return value

    def clean_queue(self):
        return self._api_checked("queue")

    def clean_type(self):
        return self._api_checked("type")

    def clean_priority(self):
        return self._api_checked("priority")

    def clean(self):
        data = super().clean()
        low, high = data.get("ready_from"), data.get("ready_to")
        if low and high and low > high:
            self.add_error("ready_to", "must not be before the start of the range")
        return data

    def filter_pairs(self) -> list:
        """The filter as ``(name, value)`` pairs of the API's query language."""
        data = self.cleaned_data
        pairs = []
        if data.get("status"):
            pairs.append(("status", ",".join(data["status"])))
        for name in ("queue", "type", "priority"):
            if data.get(name):
                pairs.append((name, data[name]))
        low, high = data.get("ready_from"), data.get("ready_to")
        if low or high:
            lo = _ms(low) if low else 0
            hi = _ms(high) if high else MAX_U64
            pairs.append(("ready_at", f"{lo}..{hi}"))
        if data.get("filter"):
            pairs.append(("filter", data["filter"]))
        return pairs

    def list_order(self) -> str:
        return self.cleaned_data.get("order") or filters.ASC


ACTIONS = (
    ("retry_now", "Retry now (ready at once, dead jobs too)"),
    ("priority", "Change priority"),
    ("move", "Move to queue"),
    ("reschedule", "Reschedule"),
    ("kill", "Kill (to dead)"),
    ("delete", "Delete"),
)
CHANGE_ACTIONS = frozenset(("retry_now", "priority", "move", "reschedule", "kill"))


class ActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    select_across = forms.BooleanField(required=False)
    query = forms.CharField(required=False, widget=forms.HiddenInput)
    priority = forms.CharField(required=False)
    queue = forms.CharField(required=False)
    ready_at = forms.DateTimeField(required=False, label="Ready at (UTC)")
    back = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.id_list = data.getlist("ids") if data is not None else []

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if not data.get("select_across") and not self.id_list:
            raise forms.ValidationError("Select at least one job.")
        if action == "priority":
            text = (data.get("priority") or "").strip()
            if not text.lstrip("-").isdigit():
                self.add_error("priority", "Enter a whole number from 0 to 65535.")
        if action == "move" and not data.get("queue"):
            self.add_error("queue", "Name the queue to move to.")
        if action == "reschedule" and data.get("ready_at") is None:
            self.add_error("ready_at", "Give the time to run at.")
        return data

    def patch_body(self, now_ms: int):
        """The API's PATCH body for this action; None for delete and kill."""
        data = self.cleaned_data
        action = data["action"]
        if action in ("delete", "kill"):
            return None
        if action == "retry_now":
            return {"ready_at": now_ms}
        if action == "priority":
            return {"priority": int(data["priority"].strip())}
        if action == "move":
            return {"queue": data["queue"]}
        return {"ready_at": _ms(data["ready_at"])}

    def hidden_pairs(self) -> list:
        """Everything needed to post the same action again, confirmed."""
        data = self.cleaned_data
        pairs = [("action", data["action"])]
        pairs += [("ids", job_id) for job_id in self.id_list]
        if data.get("select_across"):
            pairs.append(("select_across", "on"))
        for name in ("query", "priority", "queue", "back"):
            if data.get(name):
                pairs.append((name, data[name]))
        if data.get("ready_at") is not None:
            pairs.append(("ready_at", data["ready_at"].strftime("%Y-%m-%d %H:%M:%S")))
        return pairs
