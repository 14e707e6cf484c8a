"""Scrubbing matches a secret character by character in every spelling (mixed, either hex
case), and no cut leaves a prefix of 4+ characters of it: without a browser."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import quote, quote_plus

import pytest

from agent.core.errors import cut
from agent.safety.secrets import Secrets

VALUE = "k{e}y ^|é😀"  # braces, caret, bar, a space, a two-byte and a four-byte character
PH = "{{secret:pw}}"


def _u(value: str, upper: bool = False) -> str:
    out = json.dumps(value, ensure_ascii=True)[1:-1]
    if upper:
        out = re.sub(r"\\u[0-9a-f]{4}", lambda m: "\\u" + m.group(0)[2:].upper(), out)
    return out


@pytest.mark.parametrize(
    "form",
    [
        VALUE,
        quote(VALUE, safe=""),
        quote(VALUE, safe="").lower(),  # lower-case hex (and letters: still the same bytes)
        quote_plus(VALUE, safe=""),
        quote(VALUE, safe="{}^|"),  # as a query keeps some of them raw
        quote(quote(VALUE, safe=""), safe=""),  # encoded twice
        _u(VALUE),
        _u(VALUE, upper=True),
        _u(_u(VALUE)),  # JSON-escaped twice
        "".join(f"&#{ord(c)};" for c in VALUE),
        "".join(f"&#x{ord(c):X}" for c in VALUE),  # hex references without ";"
        html.escape(VALUE),
        "k%7Be\\u007dy+%5e|é\\ud83d\\ude00",  # mixed within one value
        VALUE.replace(" ", "%s"),  # as Android's ``input text`` types a space
    ],
)
def test_every_spelling_is_one_placeholder(form: str) -> None:
    s = Secrets({"pw": VALUE})
    assert s.scrub_text(f"<{form}>") == f"<{PH}>", form
    assert s.leaks(f"x{form}x".encode()) == ["pw"]


def test_other_text_is_left_alone() -> None:
    s = Secrets({"pw": "demo123"})
    assert s.scrub_text("demo") == "demo"  # a field holding a prefix, not a cut one
    assert s.scrub_text("demo12 and demo1234") == f"demo12 and {PH}4"
    assert s.scrub_text("DEMO123") == "DEMO123"  # values are case-sensitive


@pytest.mark.parametrize("keep", [4, 5, 7, 9])
def test_a_prefix_before_a_cut_mark_is_scrubbed(keep: int) -> None:
    s = Secrets({"pw": VALUE})
    for spell in (str, lambda v: quote(v, safe=""), _u):
        prefix = "x" * 20 + spell(VALUE[:keep])
        text = prefix + spell(VALUE[keep:]) + "y" * 9
        assert s.scrub_text(cut(text, len(prefix) + 1)) == "x" * 20 + PH + "…", prefix
        assert s.scrub_text(prefix + "...'") == "x" * 20 + PH + "...'"


def test_three_characters_or_an_unmarked_end_are_kept() -> None:
    s = Secrets({"pw": VALUE})
    assert s.scrub_text("x k{e…") == "x k{e…"  # 3 characters: below the rule
    assert s.scrub_text("x k{e}") == "x k{e}"  # no mark: not known to be a cut


def test_a_half_written_escape_at_the_cut_goes_with_the_prefix() -> None:
    s = Secrets({"pw": VALUE})
    assert s.scrub_text("q=k%7Be%7Dy%2…") == f"q={PH}…"
    assert s.scrub_text("q=k\\u007be\\u007dy\\u00…") == f"q={PH}…"
    assert s.scrub_text("q=k%7Be%7…") == "q=k%7Be%7…"  # three characters and a half


def test_clip_scrubs_then_cuts_then_scrubs_the_cut_end() -> None:
    s = Secrets({"pw": VALUE})
    text = "a" * 285 + quote_plus(VALUE) + "b" * 100  # the value from character 285
    out = s.clip(text, 300)
    assert out == "a" * 285 + PH + "b…" and len(out) == 300
    assert s.clip("a" * 290 + VALUE, 300) == "a" * 290 + "…"  # a placeholder is not cut
    assert s.clip("short " + VALUE, 300) == "short " + PH
    assert Secrets().clip("abc", 300) == "abc"
    long = Secrets({"k": "Z" * 300})  # a long value: one nested pattern per character
    assert long.scrub_text(cut("Z" * 400, 200)) == "{{secret:k}}…"
