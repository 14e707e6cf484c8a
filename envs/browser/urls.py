"""What the ``navigate`` action may open, and how a scheme-less URL is completed."""

from __future__ import annotations

import re

from agent.core.errors import ActionFailedError

ALLOWED_SCHEMES = ("http", "https", "file", "about")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$", re.S)


def normalize_url(url: str) -> str:
    """Add ``http://`` to a scheme-less URL; refuse schemes other than http/https/file/about."""
    url = url.strip()
    if not url:
        raise ActionFailedError("navigate needs a URL")
    m = _SCHEME.match(url)
    if m and not m.group(2)[:1].isdigit():  # "localhost:8000" is a host and port
        scheme = m.group(1).lower()
        if scheme not in ALLOWED_SCHEMES:
            raise ActionFailedError(
                f"refusing to open {url[:80]!r}: scheme {scheme!r} is not allowed "
                f"(only {', '.join(ALLOWED_SCHEMES)})"
            )
        return url
    return "http://" + url
