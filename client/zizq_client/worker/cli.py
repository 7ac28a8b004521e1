"""``zizq-worker``: run a worker from the command line.

Positional arguments name modules to import so their ``@job``
declarations register. ``--processes N`` starts N copies of this command
(for CPU-bound jobs) and forwards SIGTERM and SIGINT to them, so each
drains on its own; the exit status is the worst of theirs. The same
options serve the Django ``zizq_worker`` management command.
"""

import argparse
import importlib
import logging
import os
import signal
import subprocess
import sys

from ..models import to_ms
from ..transport import ClientConfig
from .worker import Worker


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--url",
        default=os.environ.get("ZIZQ_URL", "http://127.0.0.1:7890"),
        help="server URL (default $ZIZQ_URL or http://127.0.0.1:7890)",
    )
    add(
        "-q",
        "--queue",
        action="append",
        default=[],
        help="queues to take from, comma separated or repeated (default: all)",
    )
    add(
        "-c",
        "--concurrency",
        type=int,
        default=10,
        help="threads for sync jobs (default 10)",
    )
    add(
        "--async-concurrency",
        type=int,
        default=50,
        help="async jobs running at once on the loop (default 50)",
    )
    add(
        "--prefetch",
        type=_prefetch,
        default=None,
        help="jobs delivered ahead, or auto (default: auto, 2 x all slots)",
    )
    add(
        "--shutdown-timeout",
        type=_seconds,
        default=30.0,
        help="how long a drain may take before stopping at once: seconds or "
        "a duration such as 45s or 2m (default 30)",
    )
    add("--processes", type=int, default=1, help="worker processes to run (default 1)")
    add(
        "--format",
        choices=("msgpack", "json"),
        default="msgpack",
        help="body format (default msgpack)",
    )
    add("--http2", action="store_true", help="speak HTTP/2 (h2c on http://)")
    add("--ca-cert", help="CA bundle to trust for https:// (default: system)")
    add("--client-cert", help="client certificate for mutual TLS")
    add("--client-key", help="client certificate's private key")
    add("--worker-id", help="label shown in the server's logs")
    add(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="log level (info logs every job's outcome; default info)",
    )


def _prefetch(text: str):
    if text == "auto":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("prefetch must be >= 1 or auto")
    return value


def _seconds(text: str) -> float:
    try:
        return to_ms(text) / 1000
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def worker_from(options: argparse.Namespace, middleware=()) -> Worker:
    queues = [q for item in options.queue for q in item.split(",") if q]
    config = ClientConfig(
        url=options.url,
        format=options.format,
        http2=options.http2,
        ca_cert=options.ca_cert,
        client_cert=options.client_cert,
        client_key=options.client_key,
    )
    return Worker(
        config,
        queues=queues or None,
        concurrency=options.concurrency,
        async_concurrency=options.async_concurrency,
        prefetch=options.prefetch,
        shutdown_timeout=options.shutdown_timeout,
        worker_id=options.worker_id,
        middleware=middleware,
    )


def run_processes(count: int, argv: list, command: list) -> int:
    """Run ``count`` single-process copies of ``command``; forward signals."""
    command = [*command, *_without_processes(argv)]
    children = [subprocess.Popen(command) for _ in range(count)]

    def forward(number, _frame):
        for child in children:
            if child.poll() is None:
                child.send_signal(number)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)


def _without_processes(argv: list) -> list:
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--processes":
            skip = True
        elif not arg.startswith("--processes="):
            kept.append(arg)
    return kept


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s",
    )


def main(argv=None, command=None, middleware=()) -> int:
    """Run the worker; ``command`` is how to start one more copy of this
    command for ``--processes`` (default: this module)."""
    argv = sys.argv[1:] if argv is None else argv
    command = command or [sys.executable, "-m", "zizq_client.worker.cli"]
    parser = argparse.ArgumentParser(
        prog="zizq-worker", description=__doc__.split("\n")[0]
    )
    parser.add_argument("modules", nargs="*", help="modules declaring jobs")
    add_arguments(parser)
    options = parser.parse_args(argv)
    if options.concurrency < 0 or options.async_concurrency < 1:
        parser.error("--concurrency must be >= 0 and --async-concurrency >= 1")
    if options.processes > 1:
        return run_processes(options.processes, argv, command)
    configure_logging(options.log_level)
    sys.path.insert(0, os.getcwd())
    for module in options.modules:
        importlib.import_module(module)
    return worker_from(options, middleware).run()


if __name__ == "__main__":
    sys.exit(main())
