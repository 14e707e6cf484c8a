"""SiteServer: serves the bundled sites and their JSON APIs on 127.0.0.1 (a free port).

Static files come from ``envs/sites/static/<site>/`` (plus ``static/common/``); the API of
site ``s`` lives under ``/api/s/``. stdlib only, one daemon thread, no network beyond
loopback — so the sites work offline and every env gets its own isolated state.
"""

from __future__ import annotations

import json
import mimetypes
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from agent.core.errors import ConfigError, EnvError
from envs.sites.app import HttpError, SiteApp

STATIC = Path(__file__).parent / "static"


def make_apps() -> dict[str, SiteApp]:
    from envs.sites.account import AccountApp
    from envs.sites.flights import FlightsApp
    from envs.sites.shop import ShopApp

    return {a.name: a for a in (FlightsApp(), AccountApp(), ShopApp())}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and agents
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        try:
            if parts[:1] == ["api"]:
                self._api(method, parts[1:], dict(parse_qsl(url.query)))
            elif method == "GET":
                self._static(parts)
            else:
                raise HttpError(405, f"{method} not allowed here")
        except HttpError as err:
            self._send_json(err.status, {"error": err.message})
        except Exception as err:  # a bug in an app: answer 500, keep serving
            self._send_json(500, {"error": f"{type(err).__name__}: {err}"})

    def _api(self, method: str, parts: list[str], query: dict[str, str]) -> None:
        if not parts or parts[0] not in self.server.apps:
            raise HttpError(404, f"no site {parts[:1]}; sites: {sorted(self.server.apps)}")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError as err:
            raise HttpError(400, f"body is not JSON: {err}") from err
        status, data = self.server.apps[parts[0]].handle(
            method, parts[1:], query, body, self.headers
        )
        self._send_json(status, data)

    def _static(self, parts: list[str]) -> None:
        if not parts:
            links = "".join(f'<li><a href="/{s}/">{s}</a></li>' for s in self.server.apps)
            self._send(200, f"<h1>Bundled sites</h1><ul>{links}</ul>".encode(), "text/html")
            return
        root = STATIC.resolve()
        path = (root / "/".join(parts)).resolve()
        if path.is_dir():
            if not self.path.split("?")[0].endswith("/"):
                self.send_response(301)
                self.send_header("Location", "/" + "/".join(parts) + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = path / "index.html"
        if root not in path.parents or not path.is_file():
            raise HttpError(404, f"not found: {self.path}")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(200, path.read_bytes(), ctype)

    def _send_json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        if ctype.startswith("text/") or ctype.endswith(("javascript", "json")):
            ctype += "; charset=utf-8"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    apps: dict[str, SiteApp]


class SiteServer:
    """The bundled sites on ``http://127.0.0.1:<port>/<site>/``, state in memory."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.apps = make_apps()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> None:
        if self._httpd is not None:
            return
        httpd = _Server((self.host, self.port), _Handler)
        httpd.apps = self.apps
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise EnvError("the site server is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    def url_for(self, site: str, path: str = "") -> str:
        """``url_for("shop", "#/cart")`` → ``http://127.0.0.1:PORT/shop/#/cart``."""
        if site not in self.apps:
            raise ConfigError(f"unknown site {site!r}; known: {', '.join(sorted(self.apps))}")
        return f"{self.base_url}/{site}/{path.lstrip('/')}"

    def api(
        self,
        site: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Call a site's JSON API over HTTP (what tasks use to reset and to judge)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base_url}/api/{site}/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with self._opener.open(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:300]
            raise EnvError(f"{method} /api/{site}/{path} → {err.code}: {detail}") from err
        except urllib.error.URLError as err:
            raise EnvError(f"{method} /api/{site}/{path} failed: {err.reason}") from err

    def __enter__(self) -> SiteServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
