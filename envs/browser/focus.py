"""What a key would act on in the browser: the focused element (or the one at a point), read
for the gate's key reading (:mod:`agent.safety.keypress` judges it).

The focused element is followed into closed shadow roots, where ``document.activeElement``
stops at the host: CDP's ``DOM.describeNode`` shows a host's closed root, ``DOM.resolveNode``
hands it to us as an object, and its ``activeElement`` is the focus inside
(:func:`focused_object`); FOCUS_READ_FN reads the element from there (through open shadow
roots and same-origin frames). Without CDP the page-JS focus is read, and a closed shadow
root's inside stays unknown: a focused host that is not focusable itself reads as
``frame: "closed-shadow"`` (the gate's target is then unknown).
(``Accessibility.getFullAXTree`` also marks the focused node, but costs seconds on a page
of a few thousand elements: not used.)

The reading: tag, type, name (``text``), ``editable`` / ``single_line`` (Enter submits: the
form's default button is ``submit``), ``active`` (an ``aria-activedescendant``'s name: what
Enter picks in a combobox), and ``widget`` for the choosing keys: a ``<select>``'s options,
a radio group, or an ARIA listbox / menu / radio group / tab list / tree / grid's items, with
the current one. Plus Chromium's role and name of what Enter/Space presses (``ax_role``,
``ax_name``), as :func:`envs.browser.accessibility.with_ax_focus` gives.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from envs.browser.accessibility import OBJECT_GROUP, choose
from envs.browser.dom import DEEP_JS

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession, Page

# Shared by both functions: from ``this`` (a start element), a point, or the JS focus, to
# the element a key acts on (null: nothing; {frame: 'cross-origin'}: a frame we cannot read).
_DEEP_FROM = """
  __DEEP__
  const deepFrom = (el) => {
    let frame = null;
    for (let hops = 0; el && hops < 16; hops++) {
      const inner = el.shadowRoot && el.shadowRoot.activeElement;
      if (inner) { el = inner; continue; }
      if (el.tagName === 'IFRAME' || el.tagName === 'FRAME') {
        let doc = null;
        try { doc = el.contentDocument; } catch (e) { doc = null; }
        if (!doc) { frame = 'cross-origin'; break; }
        el = doc.activeElement; frame = 'same-origin';
        continue;
      }
      break;
    }
    return {el, frame};
  };
""".replace("__DEEP__", DEEP_JS)
_LOCATE = """
  __DEEP_FROM__
  const start = this && this.nodeType === 1 ? this : null;
  let {el, frame} = x !== null ? deepAt(x, y) : start ? deepFrom(start) : deepFocus();
  const none = !el || el === el.ownerDocument.body || el === el.ownerDocument.documentElement;
  const sel = 'a[href],button,input,select,textarea,summary,[role],[onclick],' +
              '[contenteditable=""],[contenteditable="true"],[tabindex]';
  if (!none) el = closestDeep(el, sel) || el;
  const tag = none ? '' : el.tagName.toLowerCase();
  const type = none ? '' : (el.getAttribute('type') || '').toLowerCase();
  const editable = !none && (el.isContentEditable || tag === 'textarea' || (tag === 'input' &&
    !['button', 'submit', 'reset', 'checkbox', 'radio', 'image', 'range', 'color',
      'file'].includes(type)));
  const form = none ? null : el.form || el.closest('form');
""".replace("__DEEP_FROM__", _DEEP_FROM)

FOCUS_READ_FN = (
    """function (x, y) {
  __LOCATE__
  if (none) return frame === 'cross-origin' ? {tag: 'iframe', type: '', text: '', submit: null,
    href: null, editable: false, frame} : null;
  if (x === null && !el.shadowRoot && el.tabIndex < 0 && !el.hasAttribute('tabindex') &&
      !el.isContentEditable && !['iframe', 'frame'].includes(tag)) {
    // a host that is not focusable itself has the focus: it is inside its closed shadow root
    return {tag, type, text: '', submit: null, href: null, editable: false,
            frame: 'closed-shadow'};
  }
  const clean = (s) => (s || '').trim().replace(/\\s+/g, ' ').slice(0, 200);
  const name = (e) => {
    const t = (e.getAttribute('type') || '').toLowerCase();
    const g = e.tagName.toLowerCase();
    let own = '';
    if (g === 'input') own = ['button', 'submit', 'reset'].includes(t) ? e.value : '';
    else if (g !== 'textarea' && g !== 'select') own = e.innerText;
    const lab = e.labels && e.labels.length ? e.labels[0].innerText : '';
    return clean([own, e.getAttribute('aria-label'), e.getAttribute('title'), lab,
                  hiddenNames(e)].join(' '));
  };
  const short = (e) => clean([e.innerText || e.textContent, e.getAttribute('aria-label'),
    e.getAttribute('title')].join(' '));
  const byId = (id) => { if (!id) return null; const r = el.getRootNode();
    return (r.getElementById ? r.getElementById(id) : null) ||
      el.ownerDocument.getElementById(id); };
  let submit = null;
  if (form && tag === 'input') { const b = defaultButton(form, el); submit = b ? name(b) : ''; }
  const activeEl = byId(el.getAttribute('aria-activedescendant'));
  let widget = null;
  const MAX = 300;
  if (tag === 'select') {
    const opts = Array.from(el.options).slice(0, MAX);
    widget = {kind: el.multiple || el.size > 1 ? 'listbox' : 'select', wrap: false,
      items: opts.map((o) => clean(o.label || o.text)), current: el.selectedIndex,
      disabled: opts.map((o) => o.disabled || !!(o.parentElement &&
        o.parentElement.tagName === 'OPTGROUP' && o.parentElement.disabled))};
  } else if (tag === 'input' && type === 'radio') {
    const pool = el.form ? Array.from(el.form.elements) :
      Array.from(el.getRootNode().querySelectorAll('input[type=radio]')).filter((r) => !r.form);
    const group = el.name ? pool.filter((r) => r.type === 'radio' && r.name === el.name)
      .slice(0, MAX) : [el];
    widget = {kind: 'radio', wrap: true, items: group.map(name),
      disabled: group.map((r) => !!r.disabled), current: group.indexOf(el)};
  } else {
    const itemSel = ['option', 'menuitem', 'menuitemcheckbox', 'menuitemradio', 'radio', 'tab',
      'treeitem', 'row'].map((r) => `[role=${r}]`).join(',');
    const boxSel = ['listbox', 'menu', 'menubar', 'radiogroup', 'tablist', 'tree', 'grid',
      'treegrid'].map((r) => `[role=${r}]`).join(',');
    const owned = byId(el.getAttribute('aria-controls') || el.getAttribute('aria-owns'));
    const box = (owned && owned.matches(boxSel) ? owned : null) || closestDeep(el, boxSel);
    if (box) {
      const items = Array.from(box.querySelectorAll(itemSel)).slice(0, MAX);
      let current = items.indexOf(closestDeep(el, itemSel));
      if (current < 0 && activeEl) current = items.indexOf(activeEl);
      if (current < 0) current = items.findIndex((i) => i.getAttribute('aria-selected') ===
        'true' || i.getAttribute('aria-checked') === 'true');
      widget = {kind: box.getAttribute('role'), wrap: true, items: items.map(short), current,
        disabled: items.map((i) => i.getAttribute('aria-disabled') === 'true')};
    }
  }
  return {tag, type, text: name(el), submit, href: el.getAttribute('href'), frame, editable,
          single_line: editable && tag === 'input', active: activeEl ? short(activeEl) : null,
          widget};
}"""
).replace("__LOCATE__", _LOCATE)

# The element Enter/Space presses, as an object for Chromium's AX reading: the focused
# element, or for a single-line field the form's default button; null for a field.
PRESSED_NODE_FN = (
    """function (x, y) {
  __LOCATE__
  if (none || frame === 'cross-origin') return null;
  if (editable && form && tag === 'input') return defaultButton(form, el);
  return editable ? null : el;
}"""
).replace("__LOCATE__", _LOCATE)


def read_focus(
    page: Page, session: CDPSession | None, at: tuple[float, float] | None
) -> dict[str, Any] | None:
    """The reading of what keys act on: the element at ``at`` (viewport CSS px) or the
    focused one (Chromium's AX focus when CDP is there, else the page-JS focus). Errors
    propagate (the gate makes the target unknown)."""
    x, y = (None, None) if at is None else at
    if session is None:
        return page.evaluate(f"([x, y]) => ({FOCUS_READ_FN}).call(null, x, y)", [x, y])
    try:
        start = focused_object(session) if at is None else None
        info = _call(session, FOCUS_READ_FN, start, x, y, by_value=True)
        if info is None or info.get("frame") == "cross-origin":
            return info
        try:
            node = _call(session, PRESSED_NODE_FN, start, x, y, by_value=False)
            ax = None
            if node is not None:
                tree = session.send(
                    "Accessibility.getPartialAXTree", {"objectId": node, "fetchRelatives": True}
                )
                nodes = tree.get("nodes") or []
                ax = choose(nodes, nodes[0].get("backendDOMNodeId") if nodes else None)
        except Exception as err:  # fail soft: the JS reading still stands
            return {**info, "ax_error": f"{type(err).__name__}: {err}"[:200]}
        return info if ax is None else {**info, **ax.fields()}
    finally:
        session.send("Runtime.releaseObjectGroup", {"objectGroup": OBJECT_GROUP})


# The focused element from ``this`` (or the document's focus), through open shadow roots
# and same-origin frames; and the element focused inside a (closed) shadow root ``this``.
_DESCEND_FN = f"function () {{ {_DEEP_FROM} const s = this && this.nodeType === 1 ? this : null;"
_DESCEND_FN += " return (s ? deepFrom(s) : deepFocus()).el; }"
_ROOT_FOCUS_FN = "function () { return this.activeElement; }"
MAX_ROOTS = 16  # closed shadow roots nested in one another that the read follows


def closed_root(node: dict[str, Any]) -> int | None:
    """From ``DOM.describeNode``'s node, the backend id of its closed shadow root (None when
    it hosts none: no root, an open one page JS sees into, or the browser's own)."""
    for root in node.get("shadowRoots") or []:
        if root.get("shadowRootType") == "closed" and isinstance(root.get("backendNodeId"), int):
            return int(root["backendNodeId"])
    return None


def focused_object(session: CDPSession) -> str | None:
    """The focused element as the browser knows it (a remote object id in OBJECT_GROUP):
    the page-JS focus, followed into every closed shadow root CDP shows (where
    ``activeElement`` stops at the host); None when nothing has the focus. Four round trips
    plus three per closed root: its cost does not grow with the page."""
    obj = _call(session, _DESCEND_FN, None, None, None, by_value=False)
    for _ in range(MAX_ROOTS):
        if obj is None:
            return None
        root = closed_root(session.send("DOM.describeNode", {"objectId": obj}).get("node") or {})
        if root is None:
            return obj
        reply = session.send(
            "DOM.resolveNode", {"backendNodeId": root, "objectGroup": OBJECT_GROUP}
        )
        root_obj = (reply.get("object") or {}).get("objectId")
        inner = _call(session, _ROOT_FOCUS_FN, root_obj, None, None, by_value=False)
        if inner is None:
            return obj  # the host itself has the focus
        obj = _call(session, _DESCEND_FN, inner, None, None, by_value=False)
    return obj


def _call(
    session: CDPSession, fn: str, start: str | None, x: float | None, y: float | None,
    *, by_value: bool,
) -> Any:  # fmt: skip
    """``fn`` called with ``this`` = ``start`` (or nothing): its value, or an object id."""
    if start is not None:
        reply = session.send(
            "Runtime.callFunctionOn",
            {"objectId": start, "functionDeclaration": fn, "objectGroup": OBJECT_GROUP,
             "arguments": [{"value": x}, {"value": y}], "returnByValue": by_value},
        )  # fmt: skip
    else:
        reply = session.send(
            "Runtime.evaluate",
            {"expression": f"({fn}).call(null, {json.dumps(x)}, {json.dumps(y)})",
             "objectGroup": OBJECT_GROUP, "returnByValue": by_value},
        )  # fmt: skip
    if reply.get("exceptionDetails"):
        details = reply["exceptionDetails"]
        text = (details.get("exception") or {}).get("description") or details.get("text")
        raise RuntimeError(f"the focus read failed in the page: {str(text)[:200]}")
    result = reply.get("result") or {}
    if by_value:
        return result.get("value")
    return result.get("objectId") if result.get("subtype") == "node" else None
