"""Typed text split where a key can press or move the focus (pure; the browser's use of it is
tested in tests/agent/safety/test_gate_keys.py)."""

from __future__ import annotations

from envs.browser.focus import focused_backend_id
from envs.browser.keys import split_typed


def test_typed_text_splits_before_every_key_that_can_press() -> None:
    assert split_typed("abc") == [("abc", "")]
    assert split_typed("ab c\n") == [("ab", " "), ("c", "\n")]
    assert split_typed("x\ry\tz") == [("x", "\r"), ("y", "\t"), ("z", "")]
    assert split_typed("  ") == [("", " "), ("", " ")]
    assert split_typed("") == []
    for text in ("a b\nc\r\td ", "héllo wörld", "\n\n"):
        assert "".join(run + key for run, key in split_typed(text)) == text


def test_the_focused_node_is_not_the_document() -> None:
    def node(role: str, backend: int, focused: bool) -> dict:
        props = [{"name": "focused", "value": {"type": "booleanOrUndefined", "value": focused}}]
        return {"role": {"type": "role", "value": role}, "backendDOMNodeId": backend,
                "properties": props}  # fmt: skip

    nodes = [node("RootWebArea", 1, True), node("generic", 2, False), node("button", 7, True)]
    assert focused_backend_id(nodes) == 7
    assert focused_backend_id(nodes[:2]) is None
