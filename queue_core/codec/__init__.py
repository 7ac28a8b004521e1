"""Job codec: chooses the compiled implementation, else the Python twin.

``ZIZQ_NO_EXTENSIONS=1`` forces the pure-Python reference; an import error of
the compiled module falls back quietly and ``IMPLEMENTATION`` says which one
is live (tests/queue_core/test_extensions_loaded.py asserts it).
"""

import os

from . import _py

IMPLEMENTATION = "python"
_impl = _py
if not os.environ.get("ZIZQ_NO_EXTENSIONS"):
    try:
        from . import _cy as _impl  # type: ignore[no-redef]

        IMPLEMENTATION = "cython"
    except ImportError:  # pragma: no cover - depends on the build
        _impl = _py

# Keys and record encoding.
JOB_TAG = _py.JOB_TAG
INDEX_TAG = _py.INDEX_TAG
ERROR_TAG = _py.ERROR_TAG
PURGE_TAG = _py.PURGE_TAG
job_key = _impl.job_key
index_key = _impl.index_key
index_prefix = _impl.index_prefix
parse_index_key = _impl.parse_index_key
index_value = _impl.index_value
parse_index_value = _impl.parse_index_value
error_key = _impl.error_key
error_prefix = _impl.error_prefix
purge_key = _impl.purge_key
parse_purge_key = _impl.parse_purge_key
purge_bound = _impl.purge_bound
encode_job = _impl.encode_job
decode_job = _impl.decode_job
encode_error = _impl.encode_error
decode_error = _impl.decode_error
# Rendering.
job_to_json = _impl.job_to_json
job_to_obj = _impl.job_to_obj
enqueued_to_obj = _impl.enqueued_to_obj
error_to_obj = _impl.error_to_obj
# Ids.
format_id = _impl.format_id

__all__ = [
    "IMPLEMENTATION",
    "JOB_TAG",
    "INDEX_TAG",
    "ERROR_TAG",
    "PURGE_TAG",
    "job_key",
    "index_key",
    "index_prefix",
    "parse_index_key",
    "index_value",
    "parse_index_value",
    "error_key",
    "error_prefix",
    "purge_key",
    "parse_purge_key",
    "purge_bound",
    "encode_job",
    "decode_job",
    "encode_error",
    "decode_error",
    "job_to_json",
    "job_to_obj",
    "enqueued_to_obj",
    "error_to_obj",
    "format_id",
]
