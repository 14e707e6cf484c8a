"""URL patterns read as URLs before any wildcard is applied.

A pattern such as ``http://[::1]:*/*`` used to be one shell glob over the whole URL, so its
``[::1]`` was a character class and the pattern matched nothing. Here a pattern with ``://``
is split like a URL first — scheme, host (a bracketed IPv6 literal stays one host), port,
path and query — and each part is matched on its own: ``*`` is the only wildcard, a host
without one is canonicalised the way URLs are (:func:`agent.safety.urls.canonical_host`, so
``http://localhost:*/*`` covers ``0.0.0.0`` and ``[::1]``), a missing port is the scheme's
default, a missing path is any path, and the path is percent-decoded to a fixed point on
both sides.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.core.errors import ConfigError
from agent.safety.urls import DEFAULT_PORTS, Destination, canonical_host, decoded, destination

_SCHEME = re.compile(r"^([a-zA-Z*][a-zA-Z0-9+.*-]*)://(.*)$", re.S)
_PORT = re.compile(r"^(\*|\d{1,5})$")


@dataclass(frozen=True)
class UrlPattern:
    scheme: str  # lower case; may hold "*"
    host: str  # canonical when it holds no "*"
    port: int | str | None  # a number, "*", or None (the scheme's default)
    path: str | None  # path[?query], decoded; None: any


@functools.lru_cache(maxsize=1024)
def _regex(glob: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")), re.S | re.I)


def glob_match(glob: str, text: str) -> bool:
    """``text`` matches ``glob`` whole, ``*`` standing for any run of characters (``?`` and
    ``[`` are plain characters), case-insensitively."""
    return _regex(glob).fullmatch(text) is not None


@functools.lru_cache(maxsize=1024)
def parse_pattern(pattern: str) -> UrlPattern:
    """A ``scheme://host[:port][/path]`` pattern, split; ConfigError when it is not one."""
    m = _SCHEME.match(pattern.strip())
    if m is None:
        raise ConfigError(f"URL pattern {pattern[:100]!r} needs scheme://host")
    scheme, rest = m.group(1).lower(), m.group(2)
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        raise ConfigError(f"URL pattern {pattern[:100]!r}: userinfo is never matched")
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise ConfigError(f"URL pattern {pattern[:100]!r}: unclosed [ in the host")
        host, after = authority[: end + 1], authority[end + 1 :]
    else:
        host, _, port_text = authority.rpartition(":")
        host, after = (host, ":" + port_text) if host else (authority, "")
    port: int | str | None = None
    if after:
        pm = _PORT.match(after[1:]) if after.startswith(":") else None
        if pm is None:
            raise ConfigError(f"URL pattern {pattern[:100]!r}: bad port {after!r}")
        port = "*" if pm.group(1) == "*" else int(pm.group(1))
    if "*" in host or not host:
        host = host.lower()
    elif host.startswith("["):
        host = canonical_host(host)
    else:
        host = destination("http://" + host).host
    path = decoded(tail) if tail not in ("", "/*") else None
    return UrlPattern(scheme, host, port, path)


def check_patterns(patterns: Iterable[str], where: str) -> None:
    """ConfigError naming the fix when a pattern with ``://`` is not a URL pattern (it
    would otherwise match almost nothing: a deny entry that never denies)."""
    for pattern in patterns:
        if "://" in pattern:
            try:
                parse_pattern(pattern)
            except ConfigError as err:
                raise ConfigError(
                    f"{where}: {err}; write scheme://host[:port][/path], with * as the only "
                    "wildcard and an IPv6 host in brackets"
                ) from err


def url_pattern_matches(pattern: str, dest: Destination) -> bool:
    """Whether ``dest`` matches the URL pattern ``pattern`` (parsed by :func:`parse_pattern`);
    a pattern that does not parse is a glob over the whole URL, brackets taken literally."""
    try:
        p = parse_pattern(pattern)
    except ConfigError:
        return glob_match(pattern, dest.matched)
    if not glob_match(p.scheme, dest.scheme):
        return False
    if not dest.host:  # file:///..., about:...: the rest of the URL as a glob
        return p.host == "" and glob_match(pattern, dest.matched)
    if not glob_match(p.host, dest.host):
        return False
    want = DEFAULT_PORTS.get(dest.scheme) if p.port is None else p.port
    if want != "*" and want != dest.port:
        return False
    if p.path is None:
        return True
    query = f"?{dest.query}" if dest.query else ""
    return glob_match(p.path, decoded(dest.path) + query)


def matches(pattern: str, dest: Destination) -> bool:
    """``pattern`` with ``://`` is parsed as a URL (scheme, host, port, path each matched on
    its own, ``*`` the only wildcard, a ``[v6]`` host a literal); one with another scheme or a
    ``*`` is a glob over the whole URL (:attr:`Destination.matched`); otherwise it is a host,
    in any spelling (``example.com`` also covers ``www.example.com``), optionally with a port."""
    pattern = pattern.strip()
    if not pattern:
        return False
    if "://" in pattern:
        return url_pattern_matches(pattern, dest)
    if "*" in pattern or _has_scheme(pattern):
        return glob_match(pattern, dest.matched)
    if not dest.host:
        return False
    try:
        want = destination("http://" + pattern)
    except ConfigError:
        return False
    if ":" in pattern.rsplit("]", 1)[-1] and want.port != dest.port:
        return False
    return dest.host == want.host or dest.host.endswith("." + want.host)


def _has_scheme(pattern: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?!\d)", pattern)) and not pattern.startswith(
        "["
    )
