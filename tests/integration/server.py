"""A real ``zizq serve`` subprocess for integration tests.

The server is started on port 0 with JSON logs; the bound addresses are read
from its ``listening`` log lines the way a client is told to (ADMIN_AND_CLI
3.2). Helpers stop it gracefully, kill it with SIGKILL, and restart it on
the same root directory.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def zizq_command(*args) -> list:
    return [sys.executable, "-m", "zizq_server.cli", *args]


class ServerProcess:
    """One server process; ``lines`` collects its parsed JSON log records."""

    def __init__(self, root_dir: str, args=(), env=None) -> None:
        self.root_dir = root_dir
        self.args = list(args)
        self.env = env or {}
        self.proc = None
        self.lines = []
        self.port = self.admin_port = None
        self.schemes = {}  # listener -> "http" | "https", from its line

    @property
    def url(self) -> str:
        return f"{self.schemes.get('primary', 'http')}://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"{self.schemes.get('admin', 'http')}://127.0.0.1:{self.admin_port}"

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        env = dict(os.environ, PYTHONPATH=ROOT, **self.env)
        args = ["serve", "--root-dir", self.root_dir, "--port", "0"]
        args += ["--admin-port", "0", "--log-format", "json", *self.args]
        self.lines = []
        self.proc = subprocess.Popen(
            zizq_command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        ready = threading.Event()
        threading.Thread(target=self._read_stdout, args=(ready,), daemon=True).start()
        if not ready.wait(timeout):
            self.kill()
            raise RuntimeError(f"server did not start: {self.stderr_text()}")
        if self.port is None:
            raise RuntimeError(f"server exited: {self.stderr_text()}")
        return self

    def _read_stdout(self, ready: threading.Event) -> None:
        for raw in self.proc.stdout:
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            self.lines.append(record)
            fields = record.get("fields", {})
            if "scheme" in fields:
                self.schemes[fields.get("api")] = fields["scheme"]
            if fields.get("api") == "admin":
                self.admin_port = int(fields["addr"].rsplit(":", 1)[1])
            if fields.get("api") == "primary":
                self.port = int(fields["addr"].rsplit(":", 1)[1])
                ready.set()
        ready.set()

    def stderr_text(self) -> str:
        if self.proc and self.proc.poll() is not None:
            return self.proc.stderr.read().decode(errors="replace")
        return ""

    def messages(self) -> list:
        return [r["fields"].get("message") for r in self.lines]

    def wait_for_log(self, message: str, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.lines:
                if record["fields"].get("message") == message:
                    return record
            time.sleep(0.02)
        raise AssertionError(f"no log record {message!r} in {self.messages()}")

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> "ServerProcess":
        self.stop()
        return self.start()

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)

    def h2_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=10.0, http1=False, http2=True
        )
