"""The pure decision of the browser's privacy snapshot on a deep read (envs.browser.sinks'
answer, as a dict: no browser): which boxes are painted, and when the read fails closed."""

from __future__ import annotations

from typing import Any

from agent.core.coords import Frame
from agent.core.observation import PrivacyRequest
from envs.browser.privacy import SPLIT, TRUNCATED, sensitive_boxes, snapshot_of

SECRET = "hunter2"
FRAME2 = Frame.for_screen(400, 200, scale=2.0)  # DSF 2: CSS rects double
VERSION = [1, "http://x/", 0, 0, 200, 100]


def _read(**kw: Any) -> dict[str, Any]:
    return {"version": VERSION, "fields": [], "texts": [], "attrs": [], "opaque": [], **kw}


def test_attribute_sinks_are_painted_only_when_they_hold_a_secret() -> None:
    attrs = [
        {"rect": [10, 10, 50, 20], "text": f"e.g. {SECRET}"},  # a placeholder, an option, …
        {"rect": [10, 30, 50, 40], "text": "Apple"},
    ]
    boxes, reason = sensitive_boxes(_read(attrs=attrs), (SECRET,), FRAME2)
    assert reason is None and boxes == [(20, 20, 100, 40)]
    assert sensitive_boxes(_read(attrs=attrs), (), FRAME2) == ([], None)


def test_opaque_boxes_are_painted_whole_when_secrets_are_requested() -> None:
    opaque = [{"rect": [0, 50, 100, 100], "kind": "canvas"}]
    assert sensitive_boxes(_read(opaque=opaque), (SECRET,), FRAME2) == ([(0, 100, 200, 200)], None)
    assert sensitive_boxes(_read(opaque=opaque), (), FRAME2) == ([], None)  # no secrets: shown


def test_generated_content_split_from_its_text_fails_closed() -> None:
    texts = [{"rect": [0, 0, 10, 10], "text": "hun"}, {"rect": [0, 0, 20, 10], "text": "ter2"}]
    assert sensitive_boxes(_read(texts=texts), (SECRET,), FRAME2)[1] == SPLIT


def test_a_read_cut_short_fails_closed_with_its_reason() -> None:
    read = _read(truncated="the page has more than 50000 nodes to read")
    for secrets in ((SECRET,), ()):  # without secrets a password field may be past the cut
        snap = snapshot_of(read, PrivacyRequest(secrets), FRAME2, tied=True)
        assert not snap.tied and snap.reason is not None and snap.reason.startswith(TRUNCATED)
        assert "50000 nodes" in snap.reason
    whole = snapshot_of(_read(), PrivacyRequest((SECRET,)), FRAME2, tied=True)
    assert whole.tied and whole.reason is None
