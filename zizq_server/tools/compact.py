"""``zizq compact``: ask a running server to compact its storage (spec 10)."""

from .admin_client import AdminEndpoint


def compact(endpoint: AdminEndpoint, stderr) -> None:
    """``POST /compact`` and wait for it; messages go to ``stderr``."""
    endpoint.check()
    stderr.write(f"Requesting compaction from {endpoint.display_url()}...\n")
    stderr.flush()
    endpoint.post("compact", "compact").close()
    stderr.write("Compaction complete.\n")
