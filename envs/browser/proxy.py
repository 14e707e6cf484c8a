"""Every connection the browser opens, judged: a forwarding proxy on 127.0.0.1.

Playwright's routing (:mod:`envs.browser.routing`) judges the requests it is shown, and it is
not shown WebSockets, speculation-rules prefetch and prerender, service and shared worker
requests, beacons sent while a page unloads, ``fetchLater``, the hops of a redirect, or
WebRTC's TCP relays. A browser context that a URL policy applies to is therefore created with
this proxy as its only way out (``<-loopback>``: loopback too), and the proxy judges each
connection before it opens one upstream:

* a plain HTTP request (absolute URL): the full URL — so each redirect hop, which the browser
  sends as a new request, is judged on its own;
* a ``CONNECT`` tunnel (HTTPS, WebSockets, WebRTC over TCP): its first bytes are read first.
  A request line inside (``ws://`` is sent that way) is judged as the full URL; TLS as
  ``https://host:port/``; anything else as both ``http://`` and ``https://host:port/``.

WebSockets are judged as the HTTP(S) request their handshake is (``ws://h/p`` as
``http://h/p``). A refused request gets ``403`` (a tunnel is closed) and is recorded in the
guard's list, which the env reports in ``observation.extra.blocked_requests``. Chromium's
``--force-webrtc-ip-handling-policy=disable_non_proxied_udp`` (in
:data:`envs.browser.discover.LAUNCH_ARGS`) keeps WebRTC off UDP, so in such a context its only
transport is a TCP relay through here.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

    from envs.browser.routing import RequestGuard

MAX_HEAD = 64 * 1024  # bytes of request head read before a request is refused
HEAD_TIMEOUT_S = 30.0  # a client that sends no complete head in this long is dropped
PEEK_TIMEOUT_S = 10.0  # how long a tunnel may stay silent before it is judged as opaque
CONNECT_TIMEOUT_S = 10.0
_HOP = frozenset({b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive"})


class WireProxy:
    """One per BrowserEnv, started when a context first needs it; ``guard()`` gives the
    current verdict and blocked list (None: every connection passes)."""

    def __init__(self, guard: Callable[[], RequestGuard | None]) -> None:
        self._guard = guard
        self._sock: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._wired: BrowserContext | None = None  # the context sent through here
        self.connections = 0  # accepted so far (tests, diagnostics)

    def new_context(self, browser: Browser, **options: Any) -> BrowserContext:
        """A Playwright context, behind this proxy when a URL policy applies (a guard is set):
        Chromium takes its proxy per context, so a policy set later needs a new context."""
        guarded = self._guard() is not None
        extra = self.context_options() if guarded else {}
        context = browser.new_context(**options, **extra)
        self._wired = context if guarded else None
        return context

    def wires(self, context: BrowserContext | None) -> bool:
        return context is not None and context is self._wired

    @property
    def port(self) -> int:
        return self.start()

    def context_options(self) -> dict[str, Any]:
        """Playwright ``new_context`` options that send all of its traffic through here."""
        return {"proxy": {"server": f"http://127.0.0.1:{self.port}", "bypass": "<-loopback>"}}

    def start(self) -> int:
        """Listen on an ephemeral 127.0.0.1 port (once); returns it."""
        with self._lock:
            if self._sock is None:
                sock = socket.create_server(("127.0.0.1", 0), backlog=128)
                self._sock = sock
                threading.Thread(target=self._accept, args=(sock,), daemon=True).start()
            return int(self._sock.getsockname()[1])

    def stop(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
            conns, self._open = list(self._open), set()
        for s in [sock, *conns] if sock is not None else conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    # ---- connections --------------------------------------------------------------------
    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # stopped
            with self._lock:
                if self._sock is not sock:
                    conn.close()
                    return
                self._open.add(conn)
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            conn.settimeout(HEAD_TIMEOUT_S)
            head, rest = _read_head(conn, b"")
            if head is None:
                return
            method, target, lines = _parse_head(head)
            tunnel = method == b"CONNECT"
            if tunnel:
                upstream = self._tunnel(conn, target.decode("latin-1"), rest)
            else:
                upstream = self._forward(conn, method, target, lines, rest)
            if upstream is not None:
                conn.settimeout(None)
                _pipe(conn, upstream, fix_head=not tunnel)
        except (OSError, ValueError):
            pass  # a client or server that went away, or a head no browser sends
        finally:
            for s in (conn, upstream):
                if s is not None:
                    self._untrack(s)
                    with contextlib.suppress(OSError):
                        s.close()

    def _forward(
        self, conn: socket.socket, method: bytes, target: bytes, lines: list[bytes], rest: bytes
    ) -> socket.socket | None:
        """A plain HTTP request: judged by its full URL, then sent on with ``Connection:
        close`` (one request per connection, so every request is judged)."""
        url = target.decode("latin-1")
        if not url.lower().startswith("http://"):
            _refuse(conn, 400, "this proxy takes absolute http:// URLs and CONNECT")
            return None
        if not self._allowed(conn, url, method.decode("latin-1"), "http"):
            return None
        host, port, path = _split_http(url)
        upgrade = any(h.lower().startswith(b"upgrade:") for h in lines)
        kept = [h for h in lines if h.split(b":", 1)[0].strip().lower() not in _HOP]
        kept.append(b"Connection: upgrade" if upgrade else b"Connection: close")
        request_line = b" ".join((method, path.encode("latin-1"), b"HTTP/1.1"))
        return self._connect(
            host, port, b"\r\n".join([request_line, *kept]) + b"\r\n\r\n" + rest
        )  # the rest of the body, and the response (_pipe fixes its head)

    def _tunnel(self, conn: socket.socket, target: str, rest: bytes) -> socket.socket | None:
        """A CONNECT: accepted, its first bytes read, then judged (see the module doc)."""
        host, _, port_text = target.rpartition(":")
        if not host or not port_text.isdigit():
            _refuse(conn, 400, "CONNECT needs host:port")
            return None
        port = int(port_text)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        first = rest
        conn.settimeout(PEEK_TIMEOUT_S)
        with contextlib.suppress(TimeoutError):
            while len(first) < 8:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                first += chunk
        authority = f"{host}:{port}"
        if first[:1] == b"\x16":  # a TLS handshake
            urls, kind = [f"https://{authority}/"], "tls"
        elif first[:1].isalpha():  # a request line: ws:// handshakes come this way
            conn.settimeout(HEAD_TIMEOUT_S)
            head, more = _read_head(conn, first)
            if head is None:
                return None
            _, path, lines = _parse_head(head)
            ws = any(h.lower().replace(b" ", b"") == b"upgrade:websocket" for h in lines)
            urls = [f"http://{authority}{path.decode('latin-1')}"]
            kind, first = ("websocket" if ws else "http"), head + b"\r\n\r\n" + more
        else:  # anything else (a WebRTC TURN relay over TCP)
            urls, kind = [f"http://{authority}/", f"https://{authority}/"], "tunnel"
        for url in urls:
            if not self._allowed(None, url, "CONNECT", kind):
                return None
        return self._connect(host.strip("[]"), port, first)

    def _connect(self, host: str, port: int, first: bytes) -> socket.socket:
        """A connection upstream that has been sent ``first``."""
        upstream = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
        self._track(upstream)  # closed by stop(), and by _serve when done
        try:
            if first:
                upstream.sendall(first)
        except OSError:
            self._untrack(upstream)
            upstream.close()
            raise
        upstream.settimeout(None)  # a slow answer (a long poll) is no error
        return upstream

    def _allowed(self, conn: socket.socket | None, url: str, method: str, kind: str) -> bool:
        guard = self._guard()
        if guard is None:
            return True
        try:
            why = guard.verdict(url)
        except Exception as err:  # a verdict that fails refuses (fail closed)
            why = f"the URL policy failed: {type(err).__name__}"
        if why is None:
            return True
        guard.refused(url, method, f"proxy:{kind}", why)
        if conn is not None:
            _refuse(conn, 403, "refused by the URL policy")
        return False

    def _track(self, s: socket.socket) -> None:
        with self._lock:
            self._open.add(s)

    def _untrack(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)


def _read_head(sock: socket.socket, data: bytes) -> tuple[bytes | None, bytes]:
    """(the head up to the blank line, the bytes after it); None when the peer closes or
    the head is too long."""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            return None, b""
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[bytes, bytes, list[bytes]]:
    """(first word, second word, header lines) of a request or response head; a status
    line gives (version, "code reason")."""
    first, *lines = head.split(b"\r\n")
    parts = first.split(b" ", 1)
    if len(parts) != 2:
        raise ValueError("bad start line")
    word, rest = parts
    if not word.startswith(b"HTTP/"):
        rest = rest.rsplit(b" ", 1)[0]  # the target, without the version
    return word, rest, lines


def _split_http(url: str) -> tuple[str, int, str]:
    authority, _, path = url[len("http://") :].partition("/")
    authority = authority.rsplit("@", 1)[-1]
    if authority.startswith("["):
        host, _, port = authority[1:].partition("]")
        port = port[1:]
    else:
        host, _, port = authority.partition(":")
    return host, int(port) if port else 80, "/" + path


def _refuse(conn: socket.socket, code: int, why: str) -> None:
    body = why.encode()
    reason = "Forbidden" if code == 403 else "Bad Request"
    head = f"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    with contextlib.suppress(OSError):
        conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)


def _fixed_head(head: bytes) -> bytes:
    """A response head that tells the browser not to reuse the connection (a new request
    must come on a new connection, to be judged); a 101 stays an upgrade."""
    version, status, lines = _parse_head(head)
    kept = [h for h in lines if h.split(b":", 1)[0].strip().lower() not in _HOP]
    kept.append(b"Connection: upgrade" if status.startswith(b"101") else b"Connection: close")
    return b"\r\n".join([version + b" " + status, *kept]) + b"\r\n\r\n"


def _pipe(a: socket.socket, b: socket.socket, *, fix_head: bool = False) -> None:
    """Relay both ways until both sides are done (or either fails); with ``fix_head`` the
    first response head from ``b`` goes through :func:`_fixed_head`."""
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    live, pending = 2, b"" if fix_head else None
    try:
        while live:
            for key, _ in sel.select():
                src: socket.socket = key.fileobj  # type: ignore[assignment]
                dst: socket.socket = key.data
                data = src.recv(65536)
                if data and src is b and pending is not None:
                    pending += data
                    if b"\r\n\r\n" not in pending:
                        if len(pending) > MAX_HEAD:
                            return
                        continue
                    head, _, rest = pending.partition(b"\r\n\r\n")
                    data, pending = _fixed_head(head) + rest, None
                if data:
                    dst.sendall(data)
                    continue
                sel.unregister(src)
                live -= 1
                if src is b:  # the server is done: so is the browser's side
                    return
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
    finally:
        sel.close()
