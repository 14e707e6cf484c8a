"""Secret values without a browser: what a name and a value may be, where they come from,
which placeholder an unknown name gets told about, and that every spelling a recording can
hold (JSON-escaped, each URL encoding) is scrubbed exactly, the longest first."""

from __future__ import annotations

import json

import pytest

from agent.core.errors import ActionFailedError, ConfigError
from agent.safety.secrets import Secrets, encoded_forms

TRICKY = "a b/c!'~é"  # a space, a slash, JS-safe marks, a tilde and a two-byte letter


def test_names_and_lengths_are_checked_with_the_fix_named() -> None:
    with pytest.raises(ConfigError, match=r"bad secret name '9x': use letters.*--secret password="):
        Secrets({"9x": "value"})
    with pytest.raises(ConfigError, match=r"'pw' is shorter than 3 characters; .* cannot be"):
        Secrets({"pw": "ab"})
    with pytest.raises(ConfigError, match="scrubbed from recordings without destroying them"):
        Secrets({"pw": "ab"})
    assert Secrets({"pw": "abc"}).values == ["abc"]  # three characters is enough


def test_adding_a_name_again_in_another_case_replaces_it() -> None:
    s = Secrets({"Password": "first-value"})
    s.add("password", "second-value")
    assert (s.names, s.values, len(s)) == (["password"], ["second-value"], 1)
    assert s.value("PASSWORD") == "second-value"
    assert s.scrub_text("first-value") == "first-value"  # the old value is forgotten
    assert s.scrub_text("second-value") == "{{secret:password}}"


def test_sources_are_prefixed_env_vars_and_name_value_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {"NATIVE_AGENT_SECRET_TOKEN": "tok123", "NATIVE_AGENT_SECRET_": "x", "HOME": "/root"}
    s = Secrets.from_sources(["pw=a=b=c", " card =4111"], environ=env)
    assert s.names == ["token", "pw", "card"]
    assert s.values == ["tok123", "a=b=c", "4111"]  # the value keeps its own "="
    monkeypatch.setenv("NATIVE_AGENT_SECRET_FROMENV", "from-the-env")
    assert Secrets.from_sources().value("fromenv") == "from-the-env"
    assert Secrets.from_sources(environ={}).names == []


@pytest.mark.parametrize(("pair", "shown"), [("novalue", "'novalue'"), ("=abc", "''")])
def test_a_pair_without_name_or_equals_is_refused(pair: str, shown: str) -> None:
    with pytest.raises(ConfigError) as err:
        Secrets.from_sources([pair], environ={})
    assert str(err.value) == f"--secret expects NAME=VALUE, got {shown}=…"


def test_an_unknown_placeholder_lists_the_known_ones() -> None:
    with pytest.raises(ActionFailedError) as err:
        Secrets({"a": "aaa", "b": "bbb"}).value("nope")
    assert str(err.value) == "unknown secret {{secret:nope}} (known: {{secret:a}}, {{secret:b}})"
    with pytest.raises(ActionFailedError, match=r"\(known: none\)$"):
        Secrets().value("nope")


def test_encoded_forms_are_the_browser_and_python_spellings() -> None:
    assert encoded_forms(TRICKY) == [
        "a%20b%2Fc%21%27~%C3%A9",  # quote(safe="")
        "a+b%2Fc%21%27~%C3%A9",  # quote_plus(safe="")
        "a%20b%2Fc!'~%C3%A9",  # encodeURIComponent
        "a%20b/c!'~%C3%A9",  # encodeURI
        "a+b%2Fc%21%27%7E%C3%A9",  # a form post / URLSearchParams
        "a%20b%2fc%21%27~%c3%a9",
        "a+b%2fc%21%27~%c3%a9",
        "a%20b%2fc!'~%c3%a9",
        "a%20b/c!'~%c3%a9",
        "a+b%2fc%21%27%7e%c3%a9",
    ]


def test_every_spelling_is_scrubbed_whole() -> None:
    value = 'pa"ss\\wörd/1'
    s = Secrets({"pw": value})
    spellings = [
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        *encoded_forms(value),
    ]
    for form in spellings:
        assert s.scrub_text(f"<{form}>") == "<{{secret:pw}}>", form
    assert s.scrub_text(json.dumps({"v": value})) == '{"v": "{{secret:pw}}"}'


def test_the_longest_value_is_replaced_first() -> None:
    s = Secrets({"short": "abc", "long": "abcdef"})
    assert s.scrub_text("abcdef abc") == "{{secret:long}} {{secret:short}}"
    s = Secrets({"long": "abcdef", "short": "abc"})
    assert s.scrub_text("abcdef abc") == "{{secret:long}} {{secret:short}}"


def test_leaks_find_raw_and_url_encoded_values_only() -> None:
    s = Secrets({"pw": "a b/c", "other": "zzz-zzz"})
    assert s.leaks(b"q=a b/c") == ["pw"]
    assert s.leaks(b"q=a%20b%2Fc") == ["pw"]
    assert s.leaks(b"q=a+b%2Fc") == ["pw"]
    assert s.leaks("zzz-zzz é".encode()) == ["other"]
    assert s.leaks(b"nothing here") == []


def test_leaks_sees_every_spelling_the_scrubber_removes() -> None:
    """What ``leaks`` looks for is what ``scrub`` replaces: a value left in any written
    spelling (encodeURI, form-encoded, lower-case hex, JSON-escaped) is named."""
    from agent.safety.secrets import encoded_forms

    value = 'a b/c+d"é'
    s = Secrets({"pw": value})
    spellings = [
        *encoded_forms(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    ]
    for form in spellings:
        assert s.leaks(f"x={form};".encode()) == ["pw"], form
        assert s.leaks(s.scrub_text(f"x={form};").encode()) == [], form
