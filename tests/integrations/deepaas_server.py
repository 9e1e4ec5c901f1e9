"""Starting the real ``deepaas-run`` serving sr4rs on a free loopback port, for the tests and the benchmark:
readiness is the API answering, and the whole process group (server and its workers) is stopped at the end."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def deepaas_run() -> str:
    """The deepaas-run next to this Python (its virtual environment's)."""
    return os.path.join(os.path.dirname(sys.executable), "deepaas-run")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``deepaas-run --model-name sr4rs`` with ``env`` added to the environment; ``url`` once ready."""

    def __init__(self, env: dict, log_path: str, args=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        environ = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", **env)
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen([deepaas_run(), "--model-name", "sr4rs", "--listen-port", str(self.port),
                                         *args], stdout=self._log, stderr=subprocess.STDOUT, env=environ,
                                        cwd=ROOT, start_new_session=True)

    def wait(self, timeout: float = 180) -> "Server":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"deepaas-run exited ({self.process.returncode}): {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/v2/", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)  # polling the API: the server is ready when it answers
        self.stop()
        raise RuntimeError(f"deepaas-run did not answer within {timeout} s: {self.log_tail()}")

    def log_tail(self, n: int = 3000) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-n:]

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        """SIGTERM to the server, which stops its workers; SIGKILL to its process group if any lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self._log.close()
