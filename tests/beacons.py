"""The attack tests' witness: a page served on 127.0.0.1 by a real HTTP server that logs
every beacon the page sends it — each POST, and each GET under ``/hit/`` — by the last
segment of its path. An attack worked when its beacon is in ``hits``."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BeaconSite:
    """Serves ``body`` (settable later) at every other path; ``url`` has no trailing slash."""

    def __init__(self, body: str = "") -> None:
        self.hits: list[str] = []
        self.body = body
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/hit/"):
                    site.hits.append(self.path.rsplit("/", 1)[-1])
                data = site.body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                site.hits.append(self.path.rsplit("/", 1)[-1])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, name: str, timeout: float = 10.0) -> None:
        """Until beacon ``name`` arrived (a beacon is sent asynchronously), else fail."""
        deadline = time.monotonic() + timeout
        while name not in self.hits and time.monotonic() < deadline:
            time.sleep(0.02)
        assert name in self.hits, (name, self.hits)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
