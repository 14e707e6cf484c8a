"""URL lists judged by destination (issue 15): every spelling of a host, encoded paths,
userinfo, local schemes, and links that do not navigate. The parser is a WHATWG one
(ada-url); the hostile spellings come from the issue's attack log, and a generated set
checks that any IPv4 spelling the parser accepts lands on one canonical host."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.core.errors import ConfigError
from agent.safety.patterns import matches
from agent.safety.policy import Policy
from agent.safety.urls import canonical_host, destination, link_destination

PORT = 8123
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "0x7f000001",
    "2130706433",
    "127.1",
    "017700000001",
    "127.0.0.1.",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "127.000.000.001",
    "0177.0.0.1",
    "0x7f.0.0.1",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_a_denied_host_is_denied(host: str) -> None:
    p = Policy().with_urls(deny=[f"127.0.0.1:{PORT}"])
    why = p.url_verdict(f"http://{host}:{PORT}/secret")
    assert why and "deny list" in why, host
    assert destination(f"http://{host}:{PORT}/").host == "127.0.0.1"
    assert p.url_verdict(f"http://{host}:{PORT + 1}/") is None  # another port is another site


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_deny_globs_see_the_canonical_host(host: str) -> None:
    p = Policy().with_urls(deny=[f"http://127.0.0.1:{PORT}/*"])
    assert p.url_verdict(f"http://{host}:{PORT}/x")


def test_encoded_paths_are_decoded_before_matching() -> None:
    p = Policy().with_urls(deny=["*/admin*"])
    for path in ("/admin/", "/%61dmin/", "/%41DMIN/", "/x/../admin", "/%2561dmin"):
        assert p.url_verdict(f"http://127.0.0.1{path}"), path  # decoded to a fixed point
    assert destination("http://h/a%2Fb").path == "/a%2Fb"  # an encoded slash stays one


def test_userinfo_is_never_matched_as_the_host() -> None:
    p = Policy().with_urls(allow=["http://127.0.0.1:*/*"])
    assert p.url_verdict(f"http://127.0.0.1:1@other.test:{PORT}/")  # goes to other.test
    assert p.url_verdict(f"http://127.0.0.1:{PORT}@evil.test/")
    assert p.url_verdict(f"http://127.0.0.1:{PORT}/ok") is None
    assert destination("http://u:pw@h.test/x#frag").canonical == "http://h.test/x"


def test_idn_hosts_are_compared_as_punycode() -> None:
    p = Policy().with_urls(deny=["bücher.de"])
    assert p.url_verdict("https://xn--bcher-kva.de/")
    assert p.url_verdict("https://BÜCHER.de/")
    assert Policy().with_urls(deny=["xn--bcher-kva.de"]).url_verdict("http://bücher.de/")


def test_local_schemes_are_refused_unless_allowed_by_name() -> None:
    p = Policy()
    for url in ("file:///etc/passwd", "view-source:http://127.0.0.1/", "javascript:alert(1)"):
        why = p.url_verdict(url)
        assert why and "scheme is refused" in why, url
    assert p.url_verdict("about:blank") is None
    assert p.url_verdict("chrome://settings")
    allowed = Policy().with_urls(allow=["file:///srv/docs/*"])
    assert allowed.url_verdict("file:///srv/docs/a.html") is None
    assert allowed.url_verdict("file:///etc/passwd")


def test_links_that_do_not_navigate_are_not_judged() -> None:
    assert link_destination("#top", "http://127.0.0.1/page") is None
    assert link_destination("javascript:void(0)", "http://127.0.0.1/") is None
    dest = link_destination("../admin?x=1", "http://127.0.0.1:9/a/b/c")
    assert dest is not None and dest.canonical == "http://127.0.0.1:9/a/admin?x=1"


def test_a_string_no_browser_would_load_is_an_error() -> None:
    with pytest.raises(ConfigError, match="not a URL"):
        destination("http://[::1")
    assert Policy().url_verdict("http://[::1") is not None  # denied, not crashed


def test_host_patterns_with_and_without_port() -> None:
    d = destination("https://www.example.com/a")
    assert matches("example.com", d) and not matches("notexample.com", d)
    assert matches("example.com:443", d) and not matches("example.com:80", d)
    assert not matches("example.com", destination("https://notexample.com/"))


def _spellings(value: int) -> st.SearchStrategy[str]:
    """Ways a WHATWG parser accepts to write one IPv4 address."""
    octets = [(value >> s) & 255 for s in (24, 16, 8, 0)]
    forms = [
        str(value),
        hex(value),
        "0" + oct(value)[2:],
        ".".join(str(o) for o in octets),
        ".".join(hex(o) for o in octets),
        ".".join("0" + oct(o)[2:] if o else "0" for o in octets),
        f"{octets[0]}.{(value & 0xFFFFFF)}",
        f"{octets[0]}.{octets[1]}.{value & 0xFFFF}",
        ".".join(str(o) for o in octets) + ".",
        f"[::ffff:{ipaddress.IPv4Address(value)}]",
    ]
    return st.sampled_from(forms)


@given(
    st.integers(min_value=1, max_value=2**32 - 1).flatmap(
        lambda v: st.tuples(st.just(v), _spellings(v))
    )
)
def test_any_ipv4_spelling_lands_on_one_host(case: tuple[int, str]) -> None:
    value, spelling = case
    addr = ipaddress.IPv4Address(value)
    want = "127.0.0.1" if addr.is_loopback else str(addr)  # all of 127/8 is this machine
    assert destination(f"http://{spelling}/").host == want, spelling
    assert canonical_host(want) == want


def test_host_spellings_and_scheme_patterns_exactly() -> None:
    """One canonical host per spelling; a pattern with a scheme (any case) is a URL glob, a
    bare host (any letters, X included) is a host, and a bad one matches nothing."""
    assert canonical_host("Example.COM.") == "example.com"
    assert canonical_host(".a.b.") == ".a.b"  # only the trailing dot goes
    assert canonical_host("[::1]") == "127.0.0.1"  # every loopback spelling is one host
    assert canonical_host("[2001:db8::1]") == "[2001:db8::1]"  # other IPv6 stays IPv6
    assert canonical_host("[bad.") == "[bad"  # not a bracketed literal
    assert destination("HTTPS://Example.com/x") == destination("https://example.com/x")
    assert destination("HTTPS://Example.com/x").scheme == "https"
    blank, box = destination("about:blank"), destination("http://box.example/")
    assert matches("about:blank", blank) and matches("ABOUT:blank", blank)
    assert not matches("example", blank)  # a host pattern never matches a hostless URL
    assert matches("BOX.EXAMPLE", box) and matches(
        "X.box.example", destination("http://x.box.example/")
    )
    assert not matches("exa mple", box) and not matches("bo x.example", box)
    url = "http://exa mple.com/" + "a" * 150
    with pytest.raises(ConfigError) as info:
        destination(url)
    assert str(info.value) == f"{url[:100]!r} is not a URL a browser would load"
