"""The pure part of Chromium's accessibility reading (envs/browser/accessibility.py): from
``Accessibility.getPartialAXTree`` replies recorded from headless Chromium (the hit node of
``DOM.getNodeForLocation`` and its ancestors; sources and properties trimmed), the node a
press activates and its computed role and name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envs.browser.accessibility import AXName, choose, focus_expression, with_ax_at

REPLIES = json.loads((Path(__file__).parent / "fixtures" / "ax_replies.json").read_text())


def _chosen(name: str) -> AXName | None:
    reply = REPLIES[name]
    return choose(reply["tree"]["nodes"], reply["hit"]["backendNodeId"])


def test_an_ignored_span_climbs_to_its_button() -> None:
    # <button style="display:flex"><span>De</span><span>lete</span></button>: Chromium
    # names it "De lete" (flex items are blocks): the JS reading's textContent says "Delete"
    assert _chosen("span_in_button") == AXName("button", "De lete")


def test_internal_roles_are_actionable_and_ignored_text_is_skipped() -> None:
    assert _chosen("summary") == AXName("DisclosureTriangle", "Delete all")


def test_no_actionable_ancestor_gives_the_hit_node_itself() -> None:
    assert _chosen("heading") == AXName("heading", "Delete your account")


def test_a_document_root_is_never_the_target() -> None:
    assert _chosen("body") is None  # the page's title is the root's name, not a press


def test_a_frame_the_session_cannot_enter_is_cross_origin() -> None:
    got = _chosen("oopif")
    assert got is not None and got.cross_origin
    assert got.fields() == {"ax_role": "Iframe", "ax_name": "", "frame": "cross-origin"}


def test_malformed_replies_end() -> None:
    loop: list[dict[str, Any]] = [
        {"nodeId": "1", "ignored": True, "parentId": "2", "backendDOMNodeId": 1},
        {"nodeId": "2", "ignored": True, "parentId": "1", "backendDOMNodeId": 2},
    ]
    assert choose(loop, 1) is None
    assert choose([], 1) is None
    assert choose(REPLIES["heading"]["tree"]["nodes"], 999) is None  # the hit is not there
    assert choose([{"nodeId": "1", "role": {"value": 3}, "name": None}]) is None


def test_long_and_spaced_names_are_cleaned() -> None:
    nodes = [{"nodeId": "1", "role": {"value": "link"}, "name": {"value": " Pay\n\t now " * 50}}]
    got = choose(nodes)
    assert got is not None and got.name.startswith("Pay now Pay now") and len(got.name) == 200
    secret = [{"nodeId": "1", "role": {"value": "button"}, "name": {"value": "•" * 13}}]
    assert choose(secret) == AXName("button", "•••")  # a password's length stays unsaid


def test_the_focus_expression_carries_its_arguments() -> None:
    assert focus_expression(None, True).endswith("([null, null, true])")
    assert focus_expression((3, 4), False).endswith("([3, 4, false])")


def test_without_a_session_the_js_reading_stands_alone() -> None:
    info = {"text": "OK", "scroll": [0, 0], "frame": None}
    assert with_ax_at(None, info, 1.0, 2.0) == {"text": "OK", "frame": None}
    assert with_ax_at(None, None, 1.0, 2.0) is None


class _Refusing:
    """A CDP session whose every call fails (a page navigating away mid-read)."""

    def send(self, method: str, params: Any = None) -> Any:
        raise RuntimeError(f"{method}: Target closed")


@pytest.mark.parametrize("info", [{"text": "OK", "scroll": [0, 0]}, None])
def test_a_failed_read_is_recorded_not_raised(info: dict[str, Any] | None) -> None:
    got = with_ax_at(_Refusing(), info, 1.0, 2.0)  # type: ignore[arg-type]
    if info is None:
        assert got is None
    else:
        assert got is not None and got["text"] == "OK" and "Target closed" in got["ax_error"]
