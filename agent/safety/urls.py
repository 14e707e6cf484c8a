"""URLs judged by where they lead, the way Chromium reads them.

The policy's URL lists used to compare strings, so a deny-listed ``127.0.0.1:P`` was reached
as ``0x7f000001``, ``2130706433``, ``127.1``, ``017700000001``, ``127.0.0.1.`` or
``[::ffff:127.0.0.1]``, ``*/admin*`` was passed by ``/%61dmin/``, and an allow glob
``http://127.0.0.1:*/*`` let ``http://127.0.0.1:1@localhost:P/`` through. Here every URL is
parsed by a WHATWG URL parser (``ada-url``, the parser Node.js uses; the standard Chromium
follows), then reduced to its :class:`Destination`: the host in one canonical form (every
IPv4 spelling to dotted decimal, IPv4-mapped IPv6 to IPv4, a trailing dot removed, IDN to
punycode), the effective port, the path percent-decoded (but for ``/``, ``%``, ``?``,
``#``), no userinfo and no fragment. Every loopback spelling — the whole of ``127.0.0.0/8``,
``0.0.0.0``, ``[::]``, ``[::1]``, ``localhost`` and ``*.localhost`` — is the one host
``127.0.0.1``: each of them reaches a server listening on this machine. Patterns are parsed
as URLs too and matched against that (:func:`agent.safety.patterns.matches`), with the path decoded
to a fixed point (``/%252Fadmin/`` is ``//admin/``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import ada_url

from agent.core.errors import ConfigError

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# Schemes that show the machine itself, or the browser's internals, to the model: refused
# unless an allow pattern names the scheme.
LOCAL_SCHEMES = frozenset(
    {"file", "view-source", "chrome", "chrome-untrusted", "chrome-extension", "devtools"}
    | {"filesystem", "javascript", "about"}
)
HARMLESS_ABOUT = frozenset({"about:blank", "about:srcdoc"})
LOOPBACK = "127.0.0.1"  # the one spelling of "this machine"
_KEEP_ENCODED = frozenset("/%?#")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Destination:
    """Where a URL leads: what the policy matches."""

    scheme: str  # without the colon, lower case
    host: str  # canonical; "" for schemes without a host
    port: int | None  # effective (the scheme's default when none is written)
    path: str  # percent-decoded, but for / % ? #
    query: str  # without the "?"
    href: str  # the parser's serialisation (userinfo and fragment included)

    @property
    def canonical(self) -> str:
        """``scheme://host[:port]/path[?query]``: no userinfo, no fragment, the port only
        when it is not the scheme's default. Non-network schemes: the parsed URL itself."""
        if not self.host:
            return self.href.split("#", 1)[0]
        port = "" if self.port in (None, DEFAULT_PORTS.get(self.scheme)) else f":{self.port}"
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.host}{port}{self.path}{query}"

    @property
    def matched(self) -> str:
        """What URL globs see: :attr:`canonical` with the path decoded to a fixed point."""
        if not self.host:
            return self.href.split("#", 1)[0]
        port = "" if self.port in (None, DEFAULT_PORTS.get(self.scheme)) else f":{self.port}"
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.host}{port}{decoded(self.path)}{query}"

    @property
    def local(self) -> bool:
        return self.scheme in LOCAL_SCHEMES and self.href not in HARMLESS_ABOUT


def canonical_host(host: str) -> str:
    """One spelling per host: ``[::ffff:127.0.0.1]`` → ``127.0.0.1``, ``a.b.`` → ``a.b``."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        try:
            v6 = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return host
        mapped = v6.ipv4_mapped
        if mapped is not None:
            return canonical_host(str(mapped))
        return LOOPBACK if v6.is_loopback or v6.is_unspecified else f"[{v6.compressed}]"
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):  # Chromium resolves these itself
        return LOOPBACK
    try:
        v4 = ipaddress.IPv4Address(host)
    except ValueError:
        return host
    return LOOPBACK if v4.is_loopback or v4.is_unspecified else host


def decoded(text: str, rounds: int = 8) -> str:
    """``text`` percent-decoded to a fixed point (``%252F`` → ``%2F`` → ``/``), as a server
    that decodes more than once may read it; control characters stay encoded."""

    def one(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch.isprintable() else m.group(0)

    for _ in range(rounds):
        nxt = _PCT.sub(one, text)
        if nxt == text:
            break
        text = nxt
    return text


def _decode_path(path: str) -> str:
    def one(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return m.group(0) if ch in _KEEP_ENCODED or not ch.isprintable() else ch

    return _PCT.sub(one, path)


def destination(url: str, base: str | None = None) -> Destination:
    """Parse ``url`` (relative to ``base``) as a browser does. A string no browser would load
    is a ConfigError."""
    text = url.strip()
    if base is None and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text):
        text = "http://" + text  # what the browser env does with a bare host
    try:
        parsed = ada_url.URL(text, base=base) if base else ada_url.URL(text)
    except ValueError as err:
        raise ConfigError(f"{url[:100]!r} is not a URL a browser would load") from err
    scheme = parsed.protocol.rstrip(":").lower()
    host = canonical_host(parsed.hostname) if parsed.hostname else ""
    port = int(parsed.port) if parsed.port else DEFAULT_PORTS.get(scheme)
    query = parsed.search[1:] if parsed.search else ""
    return Destination(scheme, host, port, _decode_path(parsed.pathname), query, parsed.href)


def link_destination(href: str, page_url: str | None) -> Destination | None:
    """Where clicking a link with ``href`` goes, or None when it does not navigate: a
    fragment of the same page (``#top``) or a ``javascript:`` link (the page's own script)."""
    href = href.strip()
    if not href or href.startswith("#") or href.lower().startswith("javascript:"):
        return None
    try:
        return destination(href, base=page_url or None)
    except ConfigError:
        return None


def names_scheme(pattern: str, scheme: str) -> bool:
    """True when an allow pattern explicitly names ``scheme`` (``file:///srv/*``)."""
    return pattern.strip().lower().startswith(scheme + ":")
