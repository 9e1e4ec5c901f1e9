"""A static file server on loopback that honours HTTP Range requests, as the object stores behind STAC APIs do,
and counts what it serves; failures are injected per path (a status, a stall, a few 503s before success)."""
from __future__ import annotations

import os
import re
import threading
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _Handler(SimpleHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _fault(self) -> bool:
        """Answer an injected failure for this path; True when one was sent."""
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.requests[path] += 1
            status = self.server.statuses.get(path)
            flaky = self.server.flaky.get(path, 0)
            if flaky:
                self.server.flaky[path] = flaky - 1
        if path in self.server.stalls:
            self.server.release.wait(60)  # never answers within a client's timeout
            return True
        if status or flaky:
            self.send_error(status or 503)
            return True
        return False

    def do_HEAD(self) -> None:
        if not self._fault():
            super().do_HEAD()

    def do_GET(self) -> None:
        if self._fault():
            return
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        match = _RANGE.match(self.headers.get("Range", ""))
        start, end = 0, size - 1
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                start, end = int(match.group(1)), min(int(match.group(2) or size - 1), size - 1)
            else:
                start = max(size - int(match.group(2)), 0)
        with open(path, "rb") as f:
            f.seek(start)
            body = f.read(end - start + 1)
        self.send_response(206 if match else 200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Accept-Ranges", "bytes")
        if match:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with self.server.lock:
            self.server.served[self.path.split("?", 1)[0]] += len(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class RangeServer:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; ``url(name)`` is a file's address, ``served`` the
    bytes sent per path and ``requests`` the requests per path."""

    def __init__(self, folder: str):
        handler = lambda *a, **k: _Handler(*a, directory=folder, **k)  # noqa: E731
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.httpd.lock = threading.Lock()
        self.httpd.served, self.httpd.requests = Counter(), Counter()
        self.httpd.statuses, self.httpd.flaky, self.httpd.stalls = {}, {}, set()
        self.httpd.release = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.root}/{name}"

    @property
    def served(self) -> Counter:
        return self.httpd.served

    @property
    def requests(self) -> Counter:
        return self.httpd.requests

    def fail(self, name: str, status: int) -> None:
        self.httpd.statuses["/" + name] = status

    def flaky(self, name: str, times: int) -> None:
        self.httpd.flaky["/" + name] = times

    def stall(self, name: str) -> None:
        self.httpd.stalls.add("/" + name)

    def __enter__(self) -> "RangeServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
