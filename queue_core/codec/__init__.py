"""Job codec: the compiled implementation, else the Python twin.

``IMPLEMENTATION`` says which one is live (see ``queue_core.twins``).
"""

from ..twins import choose
from . import _py

_impl, IMPLEMENTATION = choose(__name__)

# Keys and record encoding.
JOB_TAG = _py.JOB_TAG
INDEX_TAG = _py.INDEX_TAG
ERROR_TAG = _py.ERROR_TAG
PURGE_TAG = _py.PURGE_TAG
UNIQUE_TAG = _py.UNIQUE_TAG
UNIQUE_SCOPE_BYTES = _py.UNIQUE_SCOPE_BYTES
job_key = _impl.job_key
index_key = _impl.index_key
index_prefix = _impl.index_prefix
parse_index_key = _impl.parse_index_key
index_value = _impl.index_value
parse_index_value = _impl.parse_index_value
in_flight_value = _impl.in_flight_value
parse_in_flight_value = _impl.parse_in_flight_value
error_key = _impl.error_key
error_prefix = _impl.error_prefix
purge_key = _impl.purge_key
parse_purge_key = _impl.parse_purge_key
purge_bound = _impl.purge_bound
holder_key = _impl.holder_key
holder_value = _impl.holder_value
encode_job = _impl.encode_job
decode_job = _impl.decode_job
encode_error = _impl.encode_error
decode_error = _impl.decode_error
# Rendering.
job_to_json = _impl.job_to_json
job_to_obj = _impl.job_to_obj
enqueued_to_obj = _impl.enqueued_to_obj
enqueued_to_json = _impl.enqueued_to_json
bulk_enqueued_to_json = _impl.bulk_enqueued_to_json
error_to_obj = _impl.error_to_obj
# Enqueue.
plain_enqueue_request = _impl.plain_enqueue_request
plain_bulk_requests = _impl.plain_bulk_requests
keyed = _impl.keyed
new_job = _impl.new_job
new_jobs = _impl.new_jobs
put_new_jobs = _impl.put_new_jobs
# Unique keys.
plan_unique = _impl.plan_unique
claim_unique = _impl.claim_unique
unique_results = _impl.unique_results
# Ids.
format_id = _impl.format_id
IdGenerator = _impl.IdGenerator

__all__ = [
    "IMPLEMENTATION",
    "JOB_TAG",
    "INDEX_TAG",
    "ERROR_TAG",
    "PURGE_TAG",
    "UNIQUE_TAG",
    "UNIQUE_SCOPE_BYTES",
    "job_key",
    "index_key",
    "index_prefix",
    "parse_index_key",
    "index_value",
    "parse_index_value",
    "in_flight_value",
    "parse_in_flight_value",
    "error_key",
    "error_prefix",
    "purge_key",
    "parse_purge_key",
    "purge_bound",
    "holder_key",
    "holder_value",
    "encode_job",
    "decode_job",
    "encode_error",
    "decode_error",
    "job_to_json",
    "job_to_obj",
    "enqueued_to_obj",
    "enqueued_to_json",
    "bulk_enqueued_to_json",
    "error_to_obj",
    "plain_enqueue_request",
    "plain_bulk_requests",
    "keyed",
    "new_job",
    "new_jobs",
    "put_new_jobs",
    "plan_unique",
    "claim_unique",
    "unique_results",
    "format_id",
    "IdGenerator",
]
