"""Serves the ``miniwob`` package's HTML on 127.0.0.1 (a free port), shared per process.

MiniWoB++ tasks are static pages (``html/miniwob/<task>.html`` plus ``html/core/``); some
load assets by relative URL, so they are served over HTTP rather than opened as files.
stdlib only, one daemon thread, quiet logs; refcounted so every env in a process shares it.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from agent.core.errors import EnvNotAvailableError


def html_dir() -> Path:
    """The ``html/`` directory of the installed ``miniwob`` package (not imported: its
    ``__init__`` pulls in gymnasium and selenium, which we do not need)."""
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        raise EnvNotAvailableError(
            "the MiniWoB++ suite needs the miniwob package: pip install miniwob"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "html"
    if not (root / "miniwob").is_dir():
        raise EnvNotAvailableError(f"the miniwob package has no HTML tasks under {root}")
    return root


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class MiniWobServer:
    """``http://127.0.0.1:PORT/miniwob/<task>.html``; use :meth:`acquire` / :meth:`release`."""

    _shared: ClassVar[MiniWobServer | None] = None
    _users: ClassVar[int] = 0
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or html_dir()
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def task_url(self, name: str) -> str:
        return f"{self.base_url}/miniwob/{name}.html"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @classmethod
    def acquire(cls) -> MiniWobServer:
        with cls._lock:
            if cls._shared is None:
                cls._shared = MiniWobServer()
            cls._users += 1
            return cls._shared

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            cls._users = max(0, cls._users - 1)
            if cls._users == 0 and cls._shared is not None:
                cls._shared.stop()
                cls._shared = None


def task_names() -> list[str]:
    """Every MiniWoB++ task the installed package ships."""
    return sorted(p.stem for p in (html_dir() / "miniwob").glob("*.html"))
