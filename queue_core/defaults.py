"""Every default of the engine and server, in one place, unit in the name.

Settings, flags and constructors all read their fallbacks from here so that a
default is changed once. Values follow spec/ADMIN_AND_CLI.md section 2.1 and
spec/API.md sections 5-7.
"""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7890
DEFAULT_ADMIN_HOST = "127.0.0.1"
DEFAULT_ADMIN_PORT = 8901
DEFAULT_ROOT_DIR = "./zizq-root"

# Queue, type and cron names, in bytes of UTF-8 (queue_core/names.py).
MAX_NAME_BYTES = 255

DEFAULT_PRIORITY = 32768
DEFAULT_UNIQUE_WHILE = "queued"  # a unique key's scope when none is given
MAX_PRIORITY = 65535
MAX_U32 = 4294967295
MAX_U64 = 18446744073709551615
MAX_F32 = 3.4028234663852886e38  # the largest finite f32 (backoff.exponent)

DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000
# The admin /events feed (ADMIN_AND_CLI.md 6.3): its heartbeat period, the
# window limit a connection starts with, and the free tier's cap on windows.
ADMIN_HEARTBEAT_INTERVAL_MS = 2_000
DEFAULT_WINDOW_LIMIT = 200
FREE_TIER_WINDOW_LIMIT = 10
DEFAULT_GLOBAL_IN_FLIGHT_LIMIT = 1024
DEFAULT_PREFETCH = 1

DEFAULT_RETRY_LIMIT = 25
DEFAULT_BACKOFF_BASE_MS = 15_000
DEFAULT_BACKOFF_EXPONENT = 4.0
DEFAULT_BACKOFF_JITTER_MS = 30_000

DEFAULT_COMPLETED_JOB_RETENTION_MS = 0
DEFAULT_DEAD_JOB_RETENTION_MS = 7 * 24 * 3600 * 1000
DEFAULT_REAPER_CHECK_INTERVAL_MS = 30_000
REAPER_BATCH_SIZE = 1000
DEFAULT_SCHEDULER_BATCH_SIZE = 200
# Cron entries fired per pass (one enqueue call, one write batch), so a
# second with 10,000 due entries is 10 loop turns, not one long one.
CRON_FIRE_BATCH_SIZE = 1000
# Fire records (one a pass, store.cron) kept before they merge into one: a
# restart replays at most this many passes' records.
CRON_MERGE_FIRE_RECORDS = 64

DEFAULT_COMMIT_MODE = "buffered"
DEFAULT_CACHE_SIZE_BYTES = 256 * 1000 * 1000
DEFAULT_ENQUEUE_BATCH_SIZE = 1000
DEFAULT_COMPLETE_BATCH_SIZE = 1000
DEFAULT_LICENSE_KEY_CHECK_INTERVAL_MS = 5_000
DEFAULT_AUTO_COMPACT_THRESHOLD = 10_000

# The largest request body the server reads (413 beyond it; 0 = no limit,
# as the real server has none). 16 MiB is far above any sane bulk request.
DEFAULT_MAX_REQUEST_BODY_SIZE_BYTES = 16 * 1024 * 1024
# The largest payload a batch fold may make (API.md 7.2.5): a payload that
# arrived whole could not have been larger than the default body limit.
DEFAULT_MAX_PAYLOAD_SIZE_BYTES = DEFAULT_MAX_REQUEST_BODY_SIZE_BYTES
# Requests of concurrent batched enqueues planned in one round (one jq call,
# one write step; store/batch.py), as many as one commit coalesces.
BATCH_ROUND_REQUESTS = DEFAULT_ENQUEUE_BATCH_SIZE

DEFAULT_LOG_LEVEL = "info"
DEFAULT_LOG_ROTATION = "daily"
DEFAULT_LOG_MAX_SIZE_BYTES = 100 * 1000 * 1000
DEFAULT_LOG_MAX_FILES = 10

DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 2000

# jq programs run in a pool of worker processes (queue_core/sandbox/pool.py
# says why each bound is shaped so). The time limit is CPU time for one
# payload, plus the parsing allowance for each byte of that payload.
DEFAULT_JQ_WORKERS = 2
DEFAULT_JQ_TIME_LIMIT_MS = 1_000
DEFAULT_JQ_PARSE_ALLOWANCE_NS_PER_BYTE = 250
DEFAULT_JQ_MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
DEFAULT_JQ_NICENESS = 5
DEFAULT_JQ_BATCH_JOBS = 1024
DEFAULT_JQ_BATCH_BYTES = 1024 * 1024
