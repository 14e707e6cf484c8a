"""Typed text split where a key can press or move the focus (pure; the browser's use of it is
tested in tests/agent/safety/test_gate_keys.py)."""

from __future__ import annotations

from envs.browser.focus import closed_root
from envs.browser.keys import split_typed


def test_typed_text_splits_before_every_key_that_can_press() -> None:
    assert split_typed("abc") == [("abc", "")]
    assert split_typed("ab c\n") == [("ab", " "), ("c", "\n")]
    assert split_typed("x\ry\tz") == [("x", "\r"), ("y", "\t"), ("z", "")]
    assert split_typed("  ") == [("", " "), ("", " ")]
    assert split_typed("") == []
    for text in ("a b\nc\r\td ", "héllo wörld", "\n\n"):
        assert "".join(run + key for run, key in split_typed(text)) == text


def test_only_a_closed_shadow_root_is_followed() -> None:
    def host(*kinds: str) -> dict:
        roots = [{"backendNodeId": 10 + i, "shadowRootType": k} for i, k in enumerate(kinds)]
        return {"nodeName": "DIV", "shadowRoots": roots}

    assert closed_root(host("closed")) == 10
    assert closed_root(host("user-agent", "closed")) == 11
    assert closed_root(host("open")) is None  # page JS sees into it
    assert closed_root(host("user-agent")) is None  # the browser's own (an <input>'s)
    assert closed_root({"nodeName": "DIV"}) is None
