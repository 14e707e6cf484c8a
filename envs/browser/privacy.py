"""Pure part of the browser's privacy snapshot: a DOM read (SNAPSHOT_JS's answer) → the
boxes masking must paint, in screenshot px.

The secret values are compared here, in Python, so a page never receives a value to compare
against. The read (envs.browser.sinks) covers shadow roots and same-origin frames. Painted:
non-empty password fields, fields whose value holds a secret, text nodes and generated
content that hold a secret, attribute sinks (placeholder, button value, option, alt) that
hold one, and — when secrets are requested — every opaque box (canvas, object/embed,
cross-origin frame) whole. Fail closed (the snapshot cannot be tied to the screen, so the
whole screen is masked): a secret split over several text nodes (``demo<b>123</b>``) has no
box that covers it, and a read the page cut short (``truncated``) may have missed one.
"""

from __future__ import annotations

from typing import Any

from agent.core.coords import Frame
from agent.core.errors import cut
from agent.core.observation import Box, PrivacyRequest, PrivacySnapshot
from envs.browser.dom import rect_to_screen

SPLIT = "a secret is split over several text nodes: no single box covers it"
TRUNCATED = "the page was not read whole"
RAW_TEXT = 2000  # characters of a page-made text (a dialog's) kept for masking to scrub


def raw_text(text: str) -> str:
    """A text the page controls, as the observation carries it: long enough that masking
    scrubs a secret in it whole before cutting it for the recording (agent.safety.masking),
    and a longer one cut with a mark, so the prefix of a secret at the cut is scrubbed too."""
    return cut(text, RAW_TEXT)


def sensitive_boxes(
    read: dict[str, Any], values: tuple[str, ...] | list[str], frame: Frame
) -> tuple[list[Box], str | None]:
    """(boxes, reason): ``reason`` is set when the read cannot be masked box by box."""
    boxes: list[Box] = []
    if read.get("truncated"):  # what was not read may hold a secret or a password field
        return boxes, f"{TRUNCATED}: {read['truncated']}"
    for f in read.get("fields") or []:
        value = str(f.get("value") or "")
        if (f.get("password") and value) or any(v in value for v in values):
            boxes.append(rect_to_screen(frame, tuple(f["rect"]))[0])
    texts = read.get("texts") or []
    hits = [t for t in texts if any(v in t["text"] for v in values)]
    joined = "".join(t["text"] for t in texts)
    if any(joined.count(v) > sum(t["text"].count(v) for t in hits) for v in values):
        return boxes, SPLIT
    shown = hits + [a for a in read.get("attrs") or [] if any(v in a["text"] for v in values)]
    if values:
        shown += read.get("opaque") or []
    boxes += [rect_to_screen(frame, tuple(t["rect"]))[0] for t in shown]
    return boxes, None


def same_sensitive(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    values: tuple[str, ...] | list[str],
    frame: Frame,
) -> bool:
    """Whether two reads around one screenshot agree on everything masking paints (same
    document, same boxes): then a page that keeps changing elsewhere still has its boxes."""
    if before is None or after is None or not before.get("version") or not after.get("version"):
        return False
    if before["version"][1] != after["version"][1]:
        return False
    return sensitive_boxes(before, values, frame) == sensitive_boxes(after, values, frame)


def snapshot_of(
    read: dict[str, Any] | None, request: PrivacyRequest, frame: Frame, *, tied: bool
) -> PrivacySnapshot:
    """The PrivacySnapshot of one DOM read for the screenshot of ``frame``; ``tied`` is the
    capture's verdict (the DOM did not change between this read and the screenshot)."""
    if read is None:
        return PrivacySnapshot.untied(
            "the page could not be read (mid-navigation?)", source="dom", request=request
        )
    version = tuple(read["version"]) if read.get("version") is not None else None
    if version is None or version[0] is None:
        return PrivacySnapshot.untied(
            "the page has no DOM version counter", source="dom", request=request
        )
    if request.secrets and read.get("texts") is None:
        return PrivacySnapshot.untied("the text nodes were not read", source="dom", request=request)
    boxes, reason = sensitive_boxes(read, request.secrets, frame)
    if reason is None and not tied:
        reason = "the page kept changing while it was captured"
    return PrivacySnapshot(
        boxes=tuple(boxes),
        tied=reason is None,
        source="dom",
        request=request,
        version=version,
        reason=reason,
    )
