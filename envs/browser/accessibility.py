"""The accessible name and role Chromium computes for what a press would hit: the gate's
second, authoritative reading beside the page-JS one (:mod:`envs.browser.dom`).

Blink computes it (aria-labelledby chains through aria-label, alt and embedded values, ids
resolved in shadow scopes, closed shadow roots, native labels, CSS content, the "Submit" of
an input with no value), and page JS can neither see nor patch that computation. Thin CDP
I/O over pure functions:

* a point: ``DOM.getNodeForLocation`` (document CSS px, so the caller adds the page's scroll;
  pointer-events: none is respected, as a click respects it) → ``backendNodeId``, then
  ``Accessibility.getPartialAXTree`` with its ancestors: two round trips;
* the focus: ``Runtime.evaluate`` finds the element Enter/Space acts on (the focused one, or
  for Enter in a form field the form's default button) as a remote object, then the AX tree
  of that object, then the object is released: three round trips.

:func:`choose` climbs from the hit node to the nearest ancestor with an actionable role and
takes its computed name and role. A hit that stops on an ``Iframe`` node is a frame the page
session cannot look into (an out-of-process, cross-site frame): reported as cross-origin.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.core.errors import describe_error
from envs.browser.dom import DEEP_JS
from envs.browser.errors import no_node

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession

# Chromium's role strings (ARIA names, or its internal names where ARIA has none) of the
# things a press activates: the climb stops at the first of these.
ACTIONABLE_ROLES = frozenset(
    {
        "button",
        "link",
        "menuitem",
        "menuitemcheckbox",
        "menuitemradio",
        "checkbox",
        "radio",
        "switch",
        "tab",
        "option",
        "treeitem",
        "textbox",
        "searchbox",
        "combobox",
        "listbox",
        "slider",
        "spinbutton",
        "DisclosureTriangle",  # <summary>
        "PopUpButton",
        "ToggleButton",
        "ColorWell",
        "Date",
        "DateTime",
        "InputTime",
    }
)
FRAME_ROLES = frozenset({"Iframe", "IframePresentational"})
ROOT_ROLES = frozenset({"RootWebArea", "WebArea"})
MAX_NAME = 200
OBJECT_GROUP = "native-agent-ax"
_BULLETS = re.compile("•{2,}")

# The element Enter/Space would act on, as a remote object (null when none or when it is in
# a cross-origin frame): what FOCUS_JS names, the element itself rather than its text.
FOCUS_NODE_JS = """
([x, y, enter]) => {
  __DEEP__
  let {el, frame} = x === null ? deepFocus() : deepAt(x, y);
  if (!el || frame === 'cross-origin') return null;
  if (el === el.ownerDocument.body || el === el.ownerDocument.documentElement) return null;
  const sel = 'a[href],button,input,select,textarea,summary,[role],[onclick],' +
              '[contenteditable=""],[contenteditable="true"],[tabindex]';
  el = closestDeep(el, sel) || el;
  const tag = el.tagName.toLowerCase();
  const type = (el.getAttribute('type') || '').toLowerCase();
  const editable = el.isContentEditable || tag === 'textarea' || (tag === 'input' &&
    !['button', 'submit', 'reset', 'checkbox', 'radio', 'image'].includes(type));
  const form = el.form || el.closest('form');
  if (enter && form && tag === 'input' && editable) return defaultButton(form, el);
  return editable ? null : el;
}
""".replace("__DEEP__", DEEP_JS)


@dataclass(frozen=True)
class AXName:
    """Chromium's computed role and accessible name of the node a press would activate."""

    role: str
    name: str
    cross_origin: bool = False

    def fields(self) -> dict[str, Any]:
        """The keys added to ``element_at`` / ``focus_target`` results."""
        out: dict[str, Any] = {"ax_role": self.role, "ax_name": self.name}
        if self.cross_origin:
            out["frame"] = "cross-origin"
        return out


# ---- pure ---------------------------------------------------------------------------------
def _value(node: dict[str, Any], key: str) -> str:
    v = (node.get(key) or {}).get("value")
    return v if isinstance(v, str) else ""


def choose(nodes: list[dict[str, Any]], backend_id: int | None = None) -> AXName | None:
    """From ``getPartialAXTree``'s nodes (the hit node and its ancestors), the reading: the
    nearest non-ignored ancestor-or-self with an actionable role; else the nearest
    non-ignored node itself (a heading, a text run), never a document root. ``backend_id``
    picks the hit node (default: the first node, which the reply puts first)."""
    if not nodes:
        return None
    by_id = {str(n.get("nodeId")): n for n in nodes if n.get("nodeId") is not None}
    start = next((n for n in nodes if n.get("backendDOMNodeId") == backend_id), None)
    node: dict[str, Any] | None = start if backend_id is not None else nodes[0]
    if node is None:
        return None
    fallback: AXName | None = None
    for hop in range(64):  # a malformed reply must not loop
        role = _value(node, "role")
        if not node.get("ignored"):
            if role in FRAME_ROLES and hop == 0:
                return AXName(role, "", cross_origin=True)
            if role in ACTIONABLE_ROLES:
                return AXName(role, _clean(_value(node, "name")))
            if role in ROOT_ROLES:
                break
            if fallback is None and role:
                fallback = AXName(role, _clean(_value(node, "name")))
        parent = node.get("parentId")
        if parent is None or str(parent) not in by_id:
            break
        node = by_id[str(parent)]
    return fallback


def _clean(name: str) -> str:
    """One space between words, bounded; a password's bullets (Chromium names an embedded
    password field by them) say nothing of its length."""
    return _BULLETS.sub("•••", " ".join(name.split()))[:MAX_NAME]


def focus_expression(xy: tuple[int, int] | None, enter: bool) -> str:
    """The ``Runtime.evaluate`` expression of FOCUS_NODE_JS for a point (or the focus)."""
    args = [None, None, enter] if xy is None else [xy[0], xy[1], enter]
    return f"({FOCUS_NODE_JS.strip()})({json.dumps(args)})"


# ---- CDP I/O ------------------------------------------------------------------------------
def ax_at(session: CDPSession, x: float, y: float) -> AXName | None:
    """The reading at a document point (CSS px, scroll included); None where nothing is."""
    try:
        hit = session.send(
            "DOM.getNodeForLocation",
            {
                "x": int(x),
                "y": int(y),
                "includeUserAgentShadowDOM": False,
                "ignorePointerEventsNone": False,
            },
        )
    except Exception as err:
        if no_node(err):
            return None
        raise
    backend = hit.get("backendNodeId")
    if backend is None:
        return None
    tree = session.send(
        "Accessibility.getPartialAXTree", {"backendNodeId": backend, "fetchRelatives": True}
    )
    return choose(tree.get("nodes") or [], backend)


def ax_focus(session: CDPSession, xy: tuple[int, int] | None, enter: bool) -> AXName | None:
    """The reading of what Enter/Space acts on (see FOCUS_NODE_JS); None when nothing."""
    reply = session.send(
        "Runtime.evaluate",
        {"expression": focus_expression(xy, enter), "objectGroup": OBJECT_GROUP},
    )
    obj = reply.get("result") or {}
    if reply.get("exceptionDetails") or obj.get("subtype") != "node" or "objectId" not in obj:
        return None
    try:
        tree = session.send(
            "Accessibility.getPartialAXTree", {"objectId": obj["objectId"], "fetchRelatives": True}
        )
    finally:
        session.send("Runtime.releaseObjectGroup", {"objectGroup": OBJECT_GROUP})
    nodes = tree.get("nodes") or []
    return choose(nodes, nodes[0].get("backendDOMNodeId") if nodes else None)


def layout_scroll(session: CDPSession) -> tuple[float, float]:
    """The page's scroll offset as Chromium reports it (when the page JS gave none)."""
    vp = session.send("Page.getLayoutMetrics").get("cssLayoutViewport") or {}
    return float(vp.get("pageX", 0.0)), float(vp.get("pageY", 0.0))


# ---- the env's readings, completed ----------------------------------------------------------
def with_ax_at(
    session: CDPSession | None, info: dict[str, Any] | None, x: float, y: float
) -> dict[str, Any] | None:
    """ELEMENT_AT_JS's answer (``info``, viewport CSS point ``x, y``) with Chromium's
    reading added (``ax_role``, ``ax_name``); a reading where the JS found nothing stands
    alone. A cross-origin answer is left as it is (the gate treats it as unknown)."""
    scroll = info.pop("scroll", None) if info is not None else None
    if session is None or (info is not None and info.get("frame") == "cross-origin"):
        return info
    try:
        sx, sy = scroll if isinstance(scroll, list) and len(scroll) == 2 else layout_scroll(session)
        ax = ax_at(session, x + float(sx), y + float(sy))
    except Exception as err:  # fail soft: the JS reading still stands
        return _failed(info, err)
    return _merged(info, ax)


def with_ax_focus(
    session: CDPSession | None, info: dict[str, Any] | None, xy: tuple[int, int] | None
) -> dict[str, Any] | None:
    """FOCUS_JS's answer with Chromium's reading of what Enter/Space acts on added."""
    if session is None or (info is not None and info.get("frame") == "cross-origin"):
        return info
    try:
        ax = ax_focus(session, xy, True)
    except Exception as err:
        return _failed(info, err)
    return _merged(info, ax)


def _merged(info: dict[str, Any] | None, ax: AXName | None) -> dict[str, Any] | None:
    if ax is None:
        return info
    return {**(info or {}), **ax.fields()}


def _failed(info: dict[str, Any] | None, err: BaseException) -> dict[str, Any] | None:
    if info is None:
        return None
    return {**info, "ax_error": describe_error(err)["error"][:200]}
