"""DOM look-ups shared by the env (``element_at``) and the oracle: what is at a point, and
an element's box and click point in screenshot px (converted only via agent.core.coords)."""

from __future__ import annotations

from typing import Any

from agent.core.coords import Frame, input_to_screen
from envs.browser.sinks import DEEP_READ_JS

# The interactive element at a CSS point: the closest clickable ancestor of the hit, so a
# <span> inside a <button> reports the button (what the safety gate needs to know).
DEEP_JS = r"""
// Shared by ELEMENT_AT_JS and envs.browser.focus: see through open shadow roots and
// same-origin frames, and name an element the way a person reads it (hidden spellings included).
const deepAt = (x, y) => {
  let doc = document, el = doc.elementFromPoint(x, y), frame = null, dx = 0, dy = 0;
  for (let hops = 0; el && hops < 16; hops++) {
    if (el.shadowRoot) {
      const inner = el.shadowRoot.elementFromPoint(x, y);
      if (inner && inner !== el) { el = inner; continue; }
    }
    if (el.tagName === 'IFRAME' || el.tagName === 'FRAME') {
      let inner = null;
      try { inner = el.contentDocument; } catch (e) { inner = null; }
      if (!inner) { frame = 'cross-origin'; break; }
      const r = el.getBoundingClientRect();
      x -= r.left + el.clientLeft; y -= r.top + el.clientTop;
      dx += r.left + el.clientLeft; dy += r.top + el.clientTop;
      doc = inner; el = inner.elementFromPoint(x, y); frame = 'same-origin';
      continue;
    }
    break;
  }
  return {el, frame, dx, dy};  // (dx, dy): the frame's origin in the top view, CSS px
};
const deepFocus = () => {
  let el = document.activeElement, frame = null;
  for (let hops = 0; el && hops < 16; hops++) {
    const inner = el.shadowRoot && el.shadowRoot.activeElement;
    if (inner) { el = inner; continue; }
    if (el.tagName === 'IFRAME' || el.tagName === 'FRAME') {
      let inner = null;
      try { inner = el.contentDocument; } catch (e) { inner = null; }
      if (!inner) { frame = 'cross-origin'; break; }
      el = inner.activeElement; frame = 'same-origin';
      continue;
    }
    break;
  }
  return {el, frame};
};
const closestDeep = (el, sel) => {
  for (let e = el; e; ) {
    const c = e.closest ? e.closest(sel) : null;
    if (c) return c;
    const root = e.getRootNode ? e.getRootNode() : null;
    e = root && root.host ? root.host : null;
  }
  return null;
};
// the form's default button: the first submitter among its controls, those that join it
// from outside with form="id" included (what implicit submission presses)
const defaultButton = (form, el) => {
  const isSubmit = (b) => (b.tagName === 'BUTTON' && (b.type || 'submit') === 'submit') ||
    (b.tagName === 'INPUT' && ['submit', 'image'].includes(b.type));
  // (image buttons are not in form.elements: look them up, inside or joined by form="id")
  const images = [...form.querySelectorAll('input[type=image]'), ...(form.id ?
    el.ownerDocument.querySelectorAll(`input[type=image][form="${form.id}"]`) : [])];
  return Array.from(form.elements).find(isSubmit) || images[0] || null;
};
const pseudo = (e) => ['::before', '::after'].map((p) => {
  const c = getComputedStyle(e, p).content;
  return c && c !== 'none' && c !== 'normal' ? c.replace(/^["']|["']$/g, '') : '';
}).join(' ');
const hiddenNames = (el) => {
  const out = [el.textContent || ''];  // "De<span>lete</span>" reads whole, not "De lete"
  const doc = el.ownerDocument;
  const nodes = [el, ...el.querySelectorAll('*')].slice(0, 200);
  for (const e of nodes) {
    out.push(pseudo(e));
    for (const a of ['alt', 'aria-label', 'title', 'value']) {
      if (e !== el || a !== 'value') out.push(e.getAttribute(a) || '');
    }
    if (e.tagName && e.tagName.toLowerCase() === 'title') out.push(e.textContent || '');
    if (e.shadowRoot) out.push(e.shadowRoot.textContent || '');
  }
  for (const id of (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)) {
    const ref = doc.getElementById(id);
    if (ref) out.push(ref.textContent || '');
  }
  if (el.labels) for (const l of el.labels) out.push(l.textContent || '');
  for (let a = el.parentElement, k = 0; a && k < 4; a = a.parentElement, k++) {
    out.push(a.getAttribute('aria-label') || '');  // named by an enclosing element
  }
  return out.join(' ').trim().replace(/\s+/g, ' ').slice(0, 400);
};
"""

ELEMENT_AT_JS = """
([x, y]) => {
  __DEEP__
  const {el: hit, frame, dx, dy} = deepAt(x, y);
  if (!hit) return null;
  const sel = 'a[href],button,input,select,textarea,label,summary,[role],[onclick],' +
              '[contenteditable=""],[contenteditable="true"],[tabindex]';
  const el = closestDeep(hit, sel) || hit;
  const tag = el.tagName.toLowerCase();
  const type = (el.getAttribute('type') || '').toLowerCase();
  const implicit = () => {
    if (tag === 'a' && el.hasAttribute('href')) return 'link';
    if (tag === 'button' || tag === 'summary') return 'button';
    if (tag === 'select') return el.multiple ? 'listbox' : 'combobox';
    if (tag === 'textarea') return 'textbox';
    if (tag === 'img') return 'img';
    if (/^h[1-6]$/.test(tag)) return 'heading';
    if (tag === 'input') {
      const m = {checkbox: 'checkbox', radio: 'radio', range: 'slider', number: 'spinbutton',
        search: 'searchbox', button: 'button', submit: 'button', reset: 'button',
        image: 'button'};
      return m[type] || 'textbox';
    }
    if (el.isContentEditable) return 'textbox';
    return null;
  };
  const label = () => {
    if (el.labels && el.labels.length) return el.labels[0].innerText;
    return el.getAttribute('aria-label') || el.getAttribute('placeholder') ||
           el.getAttribute('title') || el.getAttribute('alt') || '';
  };
  const r = el.getBoundingClientRect();
  const text = (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ');
  const pwd = type === 'password' || !!hit.closest('input[type=password]');
  return {
    tag, role: el.getAttribute('role') || implicit(), type: type || null,
    text: tag === 'input' && pwd ? '' : text.slice(0, 200),
    label: (label() || '').trim().slice(0, 200), names: pwd ? '' : hiddenNames(el), frame,
    id: el.id || null, name: el.getAttribute('name'), href: el.getAttribute('href'),
    editable: el.isContentEditable || tag === 'textarea' ||
              (tag === 'input' && !['checkbox', 'radio', 'button', 'submit', 'reset',
                'range', 'color', 'file', 'image'].includes(type)),
    password: pwd, disabled: !!el.disabled,
    hit_tag: hit.tagName.toLowerCase(),
    rect: [r.left + dx, r.top + dy, r.right + dx, r.bottom + dy], scroll: [scrollX, scrollY],
  };
}
""".replace("__DEEP__", DEEP_JS)


def css_target(lo: float, hi: float) -> float:
    """The CSS coordinate to press inside [lo, hi): the middle pixel, so that rounding
    back from screenshot px lands inside even a 1-px-wide element."""
    return max(lo, (lo + hi - 1.0) / 2.0) if hi - lo >= 1.0 else lo


def rect_to_screen(
    frame: Frame, rect: tuple[float, float, float, float]
) -> tuple[tuple[float, float, float, float], tuple[float, float]]:
    """A CSS rect (left, top, right, bottom) → (box, click point) in screenshot px."""
    left, top, right, bottom = rect
    x1, y1 = input_to_screen(frame, left, top)
    x2, y2 = input_to_screen(frame, right, bottom)
    box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    point = input_to_screen(frame, css_target(left, right), css_target(top, bottom))
    return box, point


def describe(frame: Frame, info: dict[str, Any] | None) -> dict[str, Any] | None:
    """Finish ELEMENT_AT_JS's answer: its CSS rect becomes a screenshot-px box."""
    if info is None or "rect" not in info:  # (Chromium's reading alone has no box)
        return info
    rect = info.pop("rect")
    box, point = rect_to_screen(frame, tuple(rect))
    info["box"] = [round(v, 2) for v in box]
    info["center"] = [round(v, 2) for v in point]
    return info


# Installed in every document of the context: a counter that moves on every DOM mutation and
# on input / scroll / resize / history events, and a tripwire tied to one screenshot: a
# snapshot read arms it (``__nativeAgentArm``), and the first change after that calls the
# CDP binding CHANGED_BINDING, whose event reaches the env before the screenshot's reply when
# the page changed between the read and the capture (a sign-in redirect, a ticking clock).
# A new document calls it at once. Shadow roots are observed as the document is (the
# observer of a document does not see into them), and a same-origin frame's change moves its
# parent's counter too, so the top version (VERSION_JS, Playwright's screenshot path) covers
# the frames the top view shows. The caret is hidden by a constructed style sheet (no DOM
# mutation), as Playwright's own screenshot does, so a blinking caret never changes pixels.
CHANGED_BINDING = "__nativeAgentChanged"
VERSION_INIT_JS = """
(() => {
  if (Object.getOwnPropertyDescriptor(window, '__nativeAgentVersion')) return;
  let n = 0, armed = false;
  const fire = why => { try { window.BINDING && window.BINDING(why); } catch (e) {} };
  // a same-origin frame's change is a change of the top view: it moves its parent's counter
  // too (up to the top), so comparing the top version covers the frames it shows
  const up = () => { try { parent !== window && parent.__nativeAgentBump &&
    parent.__nativeAgentBump(); } catch (e) {} };  // cross-origin parent: not ours to move
  const bump = () => { n++; up(); if (armed) { armed = false; fire(String(n)); } };
  Object.defineProperty(window, '__nativeAgentVersion', {get: () => n});
  Object.defineProperty(window, '__nativeAgentArm', {value: () => { armed = true; return n; }});
  // Playwright's screenshot (the fallback) hides the caret through the focused field's style
  // attribute: a change that only toggles caret-color is not a change of what the page shows
  const strip = v => (v || '').replace(/caret-color:\\s*transparent\\s*!important/g, '')
    .replace(/[\\s;]/g, '');
  const caretOnly = r => r.type === 'attributes' && r.attributeName === 'style' &&
    strip(r.oldValue) === strip(r.target.getAttribute('style'));
  const opts = {subtree: true, childList: true, attributes: true, attributeOldValue: true,
    characterData: true};
  // an observer of the document does not see into shadow trees: each shadow root is
  // observed too, those made by script (attachShadow, open or closed, wrapped below: this
  // script runs before the page's) and the open ones the parser makes (declarative shadow
  // DOM) or that arrive in added nodes
  const roots = new WeakSet();
  const watch = r => { if (r && !roots.has(r)) { roots.add(r); mo.observe(r, opts); } };
  const scan = node => {  // (iterative: a deep tree must not overflow the stack)
    for (const stack = [node]; stack.length; ) {
      const top = stack.pop();
      if (!top.querySelectorAll) continue;  // a text node
      if (top.shadowRoot) { watch(top.shadowRoot); stack.push(top.shadowRoot); }
      for (const e of top.querySelectorAll('*'))
        if (e.shadowRoot) { watch(e.shadowRoot); stack.push(e.shadowRoot); }
    }
  };
  const mo = new MutationObserver(rs => {
    if (!rs.every(caretOnly)) bump();
    try { for (const r of rs) for (const a of r.addedNodes) scan(a); } catch (e) {}
  });
  mo.observe(document, opts);
  scan(document);
  const attach = Element.prototype.attachShadow;
  if (attach) Element.prototype.attachShadow = function attachShadow(...a) {
    const root = attach.apply(this, a);
    try { watch(root); bump(); } catch (e) {}
    return root;
  };
  Object.defineProperty(window, '__nativeAgentBump', {value: () => bump()});
  for (const t of ['input', 'change', 'scroll', 'resize', 'hashchange', 'popstate', 'load'])
    addEventListener(t, bump, true);
  // popups this document opened (a link or form aimed at a new tab, window.open that was
  // not blocked): the env waits for the new tab instead of racing Playwright's page event
  let popups = 0;  // taken (and reset) by each settle read
  Object.defineProperty(window, '__nativeAgentPopups', {
    value: () => { const n = popups; popups = 0; return n; }});
  const own = ['', '_self', '_parent', '_top'];
  const elsewhere = el => !own.includes((el.getAttribute('target') || '').toLowerCase());
  const opens = e => {
    const a = !e.defaultPrevented && e.target.closest && e.target.closest('a[href]');
    if (a && (elsewhere(a) || e.ctrlKey || e.metaKey || e.shiftKey || e.button === 1))
      popups++;
  };
  addEventListener('click', opens);
  addEventListener('auxclick', opens);
  addEventListener('submit', e => { if (!e.defaultPrevented && elsewhere(e.target))
    popups++; });
  const open = window.open;
  window.open = function (...a) { const w = open.apply(this, a); if (w) popups++; return w; };
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync('*, *::before, *::after { caret-color: transparent !important; }');
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch (e) {}
  fire('new-document');
  up();  // a frame's new document
})();
""".replace("BINDING", CHANGED_BINDING)
# null where the counter is missing (a page the init script did not reach): never "tied"
VERSION_JS = """
() => [window.__nativeAgentVersion ?? null, location.href, scrollX, scrollY,
       innerWidth, innerHeight]
"""
# One read of everything a step's capture needs: the DOM version, URL, title, and the deep
# read of envs.browser.sinks (fields; with secrets texts, attribute sinks, opaque boxes); it
# arms the tripwire last.
SNAPSHOT_JS = (
    f"(texts) => ({{version: ({VERSION_JS.strip()})(), title: document.title,"
    f" ...({DEEP_READ_JS.strip()})(texts),"
    " armed: window.__nativeAgentArm ? window.__nativeAgentArm() : null})"
)
# The settle read: the tasks the action queued (timers of 0 ms) have run, so the requests
# they start are reported; the load event is in (bounded), fonts are ready — then the
# snapshot, in the same round trip. A quiet step waits for no frame: the capture that follows
# renders one (CDP's screenshot runs rAF callbacks and paints before it copies the surface);
# after network traffic (``frame``) one frame more lets the response's rendering land.
SETTLE_JS = (
    "async ([texts, ms, frame]) => {"
    " const bound = p => Promise.race([p, new Promise(r => setTimeout(r, ms))]);"
    " await new Promise(r => frame ? requestAnimationFrame(() => setTimeout(r, 0))"
    "   : setTimeout(r, 0));"
    " if (document.readyState !== 'complete')"
    "   await bound(new Promise(r => addEventListener('load', r, {once: true})));"
    " if (document.fonts) await bound(document.fonts.ready);"
    f" const read = ({SNAPSHOT_JS})(texts);"
    " read.popups = window.__nativeAgentPopups ? window.__nativeAgentPopups() : 0;"
    " return read; }"
)
