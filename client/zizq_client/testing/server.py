"""A real Zizq server for tests: ``zizq serve`` on port 0 in a temporary
root directory.

The command is ``$ZIZQ_SERVER_COMMAND`` when set (split like a shell
would), else the ``zizq`` script beside this Python, else ``python -m
zizq_server.cli``. The bound port is read from the server's JSON
``listening`` log line, as its operator docs tell clients to; ``kill()``
and ``start()`` on the same root restart it with its jobs intact (give a
fixed ``port`` when clients must find it again).
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading


def server_command() -> list:
    configured = os.environ.get("ZIZQ_SERVER_COMMAND")
    if configured:
        return shlex.split(configured)
    script = os.path.join(os.path.dirname(sys.executable), "zizq")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "zizq_server.cli"]


class ZizqServer:
    """One server process; ``url`` is valid once ``start()`` returned."""

    def __init__(self, root_dir: str | None = None, args=(), port: int = 0) -> None:
        self._own_root = root_dir is None
        self.bind_port = port
        self.root_dir = root_dir or os.path.join(tempfile.mkdtemp(), "root")
        self.args = list(args)
        self.proc = None
        self.port = None
        self.scheme = "http"
        self.output: list = []

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "ZizqServer":
        args = [
            "serve",
            "--root-dir",
            self.root_dir,
            "--port",
            str(self.bind_port),
            "--no-admin",
            "--log-format",
            "json",
            *self.args,
        ]
        self.port = None
        self.proc = subprocess.Popen(
            [*server_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        ready = threading.Event()
        threading.Thread(target=self._read, args=(ready,), daemon=True).start()
        if not ready.wait(timeout) or self.port is None:
            self.kill()
            raise RuntimeError("zizq serve did not start:\n" + "".join(self.output))
        return self

    def _read(self, ready: threading.Event) -> None:
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace")
            self.output.append(line)
            try:
                fields = json.loads(line).get("fields", {})
            except ValueError:
                continue
            if fields.get("api") == "primary" and "addr" in fields:
                self.port = int(fields["addr"].rsplit(":", 1)[1])
                self.scheme = fields.get("scheme", "http")
                ready.set()
        ready.set()

    def kill(self) -> None:
        """Stop the process at once (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM) and remove a root this object made."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._own_root:
            shutil.rmtree(os.path.dirname(self.root_dir), ignore_errors=True)

    def __enter__(self) -> "ZizqServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
