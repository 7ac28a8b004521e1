"""Log line pieces: compiled twin if built, else Python (see ``_py``).

``zizq_server.logging``'s formatters build every line from these, so the
request log, one record per HTTP request, formats in compiled code.
"""

from queue_core.twins import choose

from .values import Quoted

_impl, IMPLEMENTATION = choose(__name__)

Pending = _impl.Pending
Stamps = _impl.Stamps
compact_line = _impl.compact_line
compact_lines = _impl.compact_lines
field_text = _impl.field_text
json_line = _impl.json_line
json_lines = _impl.json_lines
level_label = _impl.level_label
request_fields = _impl.request_fields
target = _impl.target

__all__ = [
    "IMPLEMENTATION",
    "Pending",
    "Quoted",
    "Stamps",
    "compact_line",
    "compact_lines",
    "field_text",
    "json_line",
    "json_lines",
    "level_label",
    "request_fields",
    "target",
]
