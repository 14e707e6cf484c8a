"""DOM look-ups shared by the env (``element_at``) and the oracle: what is at a point, and
an element's box and click point in screenshot px (converted only via agent.core.coords)."""

from __future__ import annotations

from typing import Any

from agent.core.coords import Frame, input_to_screen

# The interactive element at a CSS point: the closest clickable ancestor of the hit, so a
# <span> inside a <button> reports the button (what the safety gate needs to know).
ELEMENT_AT_JS = """
([x, y]) => {
  const hit = document.elementFromPoint(x, y);
  if (!hit) return null;
  const sel = 'a[href],button,input,select,textarea,label,summary,[role],[onclick],' +
              '[contenteditable=""],[contenteditable="true"],[tabindex]';
  const el = hit.closest(sel) || hit;
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
    label: (label() || '').trim().slice(0, 200),
    id: el.id || null, name: el.getAttribute('name'), href: el.getAttribute('href'),
    editable: el.isContentEditable || tag === 'textarea' ||
              (tag === 'input' && !['checkbox', 'radio', 'button', 'submit', 'reset',
                'range', 'color', 'file', 'image'].includes(type)),
    password: pwd, disabled: !!el.disabled,
    hit_tag: hit.tagName.toLowerCase(),
    rect: [r.left, r.top, r.right, r.bottom],
  };
}
"""


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
    if info is None:
        return None
    rect = info.pop("rect")
    box, point = rect_to_screen(frame, tuple(rect))
    info["box"] = [round(v, 2) for v in box]
    info["center"] = [round(v, 2) for v in point]
    return info


# Every visible editable field (inputs, textareas, contenteditable) with its value: the
# recorder masks password fields and fields holding a secret (decided in Python, so a page
# never receives a secret value to compare against).
FIELDS_JS = """
() => {
  const out = [];
  const els = document.querySelectorAll(
    'input,textarea,[contenteditable=""],[contenteditable="true"]');
  for (const el of els) {
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (['hidden', 'checkbox', 'radio', 'button', 'submit', 'reset', 'image', 'range',
         'color', 'file'].includes(type)) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0 || r.bottom < 0 || r.right < 0 ||
        r.top > innerHeight || r.left > innerWidth) continue;
    const value = el.isContentEditable ? el.innerText : (el.value || '');
    out.push({rect: [r.left, r.top, r.right, r.bottom], password: type === 'password',
              value: String(value).slice(0, 10000)});
  }
  return out;
}
"""

# The visible text nodes with their boxes (only asked for when a secret is on the page).
TEXT_NODES_JS = """
() => {
  const out = [];
  const walker = document.createTreeWalker(document.body || document, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let n;
  while ((n = walker.nextNode()) && out.length < 5000) {
    const t = n.nodeValue;
    if (!t || !t.trim()) continue;
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0 || r.bottom < 0 || r.top > innerHeight) continue;
    out.push({rect: [r.left, r.top, r.right, r.bottom], text: t.slice(0, 10000)});
  }
  return out;
}
"""

# Installed in every document of the context: a counter that moves on every DOM mutation and
# on input / scroll / resize / history events. Read before and after a screenshot, it tells
# whether the DOM the masking reads later is the one the screenshot shows (a page can render
# the next view between the capture and the read — a sign-in redirect, a ticking clock).
VERSION_INIT_JS = """
(() => {
  if (Object.getOwnPropertyDescriptor(window, '__nativeAgentVersion')) return;
  let n = 0;
  const bump = () => { n++; };
  Object.defineProperty(window, '__nativeAgentVersion', {get: () => n});
  // Playwright's screenshot hides the caret through the focused field's style attribute:
  // a change that only toggles caret-color is not a change of what the page shows
  const strip = v => (v || '').replace(/caret-color:\\s*transparent\\s*!important/g, '')
    .replace(/[\\s;]/g, '');
  const caretOnly = r => r.type === 'attributes' && r.attributeName === 'style' &&
    strip(r.oldValue) === strip(r.target.getAttribute('style'));
  new MutationObserver(rs => { if (!rs.every(caretOnly)) bump(); }).observe(document, {
    subtree: true, childList: true, attributes: true, attributeOldValue: true,
    characterData: true});
  for (const t of ['input', 'change', 'scroll', 'resize', 'hashchange', 'popstate', 'load'])
    addEventListener(t, bump, true);
})();
"""
# null where the counter is missing (a page the init script did not reach): never "fresh"
VERSION_JS = """
() => [window.__nativeAgentVersion ?? null, location.href, scrollX, scrollY,
       innerWidth, innerHeight]
"""
# What masking needs, read in one evaluate so fields, text and version belong together.
PRIVACY_JS = (
    f"(texts) => ({{version: ({VERSION_JS.strip()})(), fields: ({FIELDS_JS.strip()})(),"
    f" texts: texts ? ({TEXT_NODES_JS.strip()})() : null}})"
)
