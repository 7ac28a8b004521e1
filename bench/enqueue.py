"""Enqueue throughput: single-job and bulk requests, HTTP/1.1 and h2c.

Load comes from ``h2load`` (Debian package nghttp2-client) on core 1: it
keeps ``--clients`` keep-alive connections each with one request in flight,
which is what N concurrent producers look like to the server.
"""

import json
import re
import shutil
import subprocess
import tempfile

from common import job, pinned

H2LOAD_HINT = "h2load not found: apt-get install nghttp2-client"


def h2load(url: str, body: bytes, clients: int, seconds: int, h1: bool) -> dict:
    if shutil.which("h2load") is None:
        raise SystemExit(H2LOAD_HINT)
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(body)
        f.flush()
        argv = ["h2load", "-c", str(clients), "-m", "1", "-D", str(seconds)]
        argv += ["-d", f.name, "-H", "content-type: application/json"]
        argv += (["--h1"] if h1 else []) + [url]
        out = subprocess.run(pinned(1, argv), capture_output=True, text=True).stdout
    done = int(re.search(r"(\d+) succeeded", out).group(1))
    failed = int(re.search(r"(\d+) failed", out).group(1))
    non2xx = sum(int(n) for n in re.findall(r"(\d+) [345]xx", out))
    if failed or non2xx:
        raise RuntimeError(f"h2load saw failures:\n{out}")
    return {"requests": done}


def run(server, *, bulk: int, clients: int, seconds: int, h1: bool) -> dict:
    if bulk:
        path, body = "/jobs/bulk", {"jobs": [job() for _ in range(bulk)]}
    else:
        path, body = "/jobs", job()
    cpu_before = server.cpu_seconds()
    result = h2load(server.url + path, json.dumps(body).encode(), clients, seconds, h1)
    cpu = server.cpu_seconds() - cpu_before
    jobs = result["requests"] * (bulk or 1)
    return {
        "jobs_per_s": jobs / seconds,
        "cpu_ms_per_1k_jobs": cpu * 1000 / jobs * 1000,
    }
