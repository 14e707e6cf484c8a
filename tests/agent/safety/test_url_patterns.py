"""Loopback spellings, URL patterns and encoded paths (issue 22): ``http://0.0.0.0:P`` reached
a server denied as 127.0.0.1, a deny pattern with ``[::1]`` never matched (the bracket was a
glob class), and ``/%2Fadmin/`` or ``/%252Fadmin/`` passed ``*/admin*``."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.core.errors import ConfigError
from agent.safety.patterns import glob_match, matches, parse_pattern
from agent.safety.policy import Policy, load_policy
from agent.safety.urls import canonical_host, decoded, destination

PORT = 8123
LOOPBACK = [
    "0.0.0.0",
    "0",
    "[::]",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:0.0.0.0]",
    "[::ffff:127.0.0.9]",
    "localhost",
    "LOCALHOST.",
    "evil.localhost",
    "127.0.0.2",
    "127.255.255.254",
    "0x7f.1",
]


@pytest.mark.parametrize("host", LOOPBACK)
def test_every_loopback_spelling_is_the_denied_host(host: str) -> None:
    assert destination(f"http://{host}:{PORT}/").host == "127.0.0.1", host
    for deny in (f"127.0.0.1:{PORT}", f"http://127.0.0.1:{PORT}/*", "http://[::1]:*/*"):
        why = Policy().with_urls(deny=[deny]).url_verdict(f"http://{host}:{PORT}/x")
        assert why and "deny list" in why, (host, deny)
    assert (
        Policy().with_urls(deny=[f"127.0.0.1:{PORT}"]).url_verdict(f"http://{host}:{PORT + 1}/")
        is None
    )  # another port is another server


def test_hosts_that_are_not_this_machine_keep_their_address() -> None:
    for host in ("10.0.0.1", "[2001:db8::1]", "128.0.0.1", "localhost.example", "1.0.0.0"):
        assert destination(f"http://{host}/").host != "127.0.0.1", host
    assert canonical_host("[fe80::1]") == "[fe80::1]"


@pytest.mark.parametrize(
    "pattern",
    ["http://[::1]:*/*", "http://[0::1]:*/*", "*://localhost:*/*", "http://0.0.0.0:8123/*"],
)
def test_bracketed_and_loopback_patterns_are_parsed_as_urls(pattern: str) -> None:
    p = Policy().with_urls(deny=[pattern])
    assert p.url_verdict(f"http://127.0.0.1:{PORT}/a"), pattern
    assert p.url_verdict(f"http://[::1]:{PORT}/a"), pattern
    assert p.url_verdict("http://example.com:8123/a") is None, pattern


def test_pattern_parts() -> None:
    p = parse_pattern("HTTPS://Example.COM.:8443/a/%2561*")
    assert (p.scheme, p.host, p.port, p.path) == ("https", "example.com", 8443, "/a/a*")
    assert parse_pattern("http://[::1]/").host == "127.0.0.1"
    assert parse_pattern("http://*.example.com/*").path is None  # any path
    assert parse_pattern("http://h:*").port == "*"
    for bad in ("http://u@h/", "http://[::1/", "http://h:x/", "nope"):
        with pytest.raises(ConfigError):
            parse_pattern(bad)


def test_missing_port_is_the_default_and_star_is_the_only_wildcard() -> None:
    dest = destination("http://example.com/a?b")
    assert matches("http://example.com/*", dest)
    assert not matches("http://example.com/*", destination("http://example.com:81/a"))
    assert matches("http://example.com:*/*", destination("http://example.com:81/a"))
    assert matches("*://*.example.com/*", destination("https://www.example.com/"))
    assert not matches("http://example.com/a?c", dest)  # ? is a plain character
    assert matches("http://example.com/a?b", dest)
    assert glob_match("a[b]*", "A[B]c") and not glob_match("a[b]*", "ab")


@pytest.mark.parametrize(
    "path", ["/%2Fadmin/", "/%252Fadmin/", "/x/%2561dmin", "/%25252F%61dmin", "/ADMIN"]
)
def test_paths_are_decoded_to_a_fixed_point(path: str) -> None:
    for deny in ("*/admin*", "http://127.0.0.1:*/*admin*", "http://127.0.0.1:8123//admin/"):
        why = Policy().with_urls(deny=[deny]).url_verdict(f"http://127.0.0.1:{PORT}{path}")
        if deny.endswith("//admin/") and path != "/%252Fadmin/" and path != "/%2Fadmin/":
            continue  # the exact-path pattern names one of the spellings only
        assert why, (path, deny)


def test_decoding_stops_at_a_fixed_point_and_keeps_control_characters() -> None:
    assert decoded("/%25252Fa") == "//a"
    assert decoded("/%00%0a") == "/%00%0a"
    assert decoded("/plain") == "/plain"
    assert (
        Policy().with_urls(allow=["http://127.0.0.1:*/*"]).url_verdict("http://127.0.0.1:1/%2561")
        is None
    )


def test_a_url_pattern_that_is_not_a_url_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--allow-url/--deny-url: .*unclosed \[.*scheme://"):
        Policy().with_urls(deny=["http://[::1:*/*"])
    bad = tmp_path / "p.toml"
    bad.write_text('[urls]\ndeny = ["http://u@h/*"]\n')
    with pytest.raises(ConfigError, match=r"p\.toml: urls: .*userinfo"):
        load_policy(bad)
    assert Policy().with_urls(deny=["*/admin*", "[::1]:80", "http://h/*"]).deny_urls
