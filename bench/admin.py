"""The Django admin's cost to job traffic, and its page times, at scale.

    .venv/bin/python bench/admin.py [--jobs N] [--seconds N] [--rounds N] [--pace S]

A server (admin listener on) is filled with ``--jobs`` ready jobs, then
16 h2load producers (single-job ``POST /jobs``, core 1) run in alternating
rounds: alone, and while one logged-in operator browses the job list
(first page, the next 5 by cursor, a page from the middle, the newest
first, a filtered page, a job's page), each request timed, ``--pace``
seconds apart (default 0.5: a fast clicker; 0 = back to back, the worst
case, where the page threads hold the GIL half the time). Reported:
producers' median jobs/s in each mode and the drop, and the median / p95
/ max time per page kind (the whole request, as the browser waits for it).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx

import enqueue
from common import ROOT, BenchServer, job

PASSWORD = "bench-admin-pass"
LIST = "/admin/jobs/job/"
PRODUCERS = 16


def superuser(root: str) -> None:
    env = dict(
        os.environ, PYTHONPATH=ROOT, DJANGO_SUPERUSER_PASSWORD=PASSWORD
    )
    argv = [sys.executable, "-m", "zizq_server.cli", "--root-dir", root]
    argv += ["createsuperuser", "--noinput", "--username", "bench"]
    argv += ["--email", "bench@example.com"]
    subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True)


def fill(server, total: int) -> list:
    """Enqueue ``total`` jobs in bulks; returns every 10,000th id."""
    marks = []
    batch = 5_000
    for start in range(0, total, batch):
        size = min(batch, total - start)
        jobs = [job(type="even" if n % 2 else "odd") for n in range(size)]
        answer = server.post("/jobs/bulk", {"jobs": jobs})
        marks.append(answer["jobs"][0]["id"])
    return marks


def log_in(admin_url: str) -> httpx.Client:
    client = httpx.Client(base_url=admin_url, timeout=60)
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    data = {"csrfmiddlewaretoken": token, "username": "bench", "password": PASSWORD}
    answer = client.post("/admin/login/?next=/admin/", data=data)
    assert answer.status_code == 302, answer.text
    return client


def browse_once(client: httpx.Client, marks: list, times: dict, pace=0.0) -> None:
    def timed(kind: str, url: str) -> str:
        time.sleep(pace)
        started = time.perf_counter()
        answer = client.get(url)
        times.setdefault(kind, []).append(time.perf_counter() - started)
        assert answer.status_code == 200, (url, answer.status_code)
        return answer.text

    text = timed("first page", LIST)
    for _ in range(5):
        after = re.search(r'href="(\?[^"]*after=[^"]+)" id="zizq-next"', text)
        text = timed("next page", LIST + after[1].replace("&amp;", "&"))
    timed("middle page", f"{LIST}?after={marks[len(marks) // 2]}")
    timed("newest first", f"{LIST}?order=desc")
    timed("filtered page", f"{LIST}?type=even&status=ready&priority=0..40000")
    timed("job page", f"{LIST}{marks[len(marks) // 3]}/")


def browse(client, marks, stop: threading.Event, times: dict, pace: float) -> None:
    while not stop.is_set():
        browse_once(client, marks, times, pace)


def produce(server, seconds: int) -> float:
    return enqueue.run(
        server, bulk=0, clients=PRODUCERS, seconds=seconds, h1=True
    )["jobs_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pace", type=float, default=0.5)
    args = parser.parse_args()
    server = BenchServer(quiet=True, admin=True)
    superuser(server.root_dir)
    server.start()
    try:
        started = time.monotonic()
        marks = fill(server, args.jobs)
        print(f"filled {args.jobs:,} jobs in {time.monotonic() - started:.0f} s")
        client = log_in(f"http://127.0.0.1:{server.admin_port}")
        browse_once(client, marks, {})  # warm the templates and the login
        alone, browsed, times = [], [], {}
        for _ in range(args.rounds):
            alone.append(produce(server, args.seconds))
            stop = threading.Event()
            browser = threading.Thread(
                target=browse, args=(client, marks, stop, times, args.pace)
            )
            browser.start()
            browsed.append(produce(server, args.seconds))
            stop.set()
            browser.join()
        report(alone, browsed, times)
    finally:
        server.close()


def report(alone, browsed, times) -> None:
    quiet, busy = statistics.median(alone), statistics.median(browsed)
    print(f"producers alone:    {quiet:9,.0f} jobs/s  (rounds: {fmt(alone)})")
    print(f"while browsing:     {busy:9,.0f} jobs/s  (rounds: {fmt(browsed)})")
    print(f"throughput drop:    {100 * (1 - busy / quiet):5.1f} %")
    for kind, seconds in times.items():
        ms = sorted(1000 * s for s in seconds)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        print(
            f"{kind:<14} n={len(ms):4}  median {statistics.median(ms):6.1f} ms"
            f"  p95 {p95:6.1f} ms  max {ms[-1]:6.1f} ms"
        )


def fmt(values) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


if __name__ == "__main__":
    main()
