"""The deep DOM read behind the privacy snapshot: every place a page can render a value.

One page script (``DEEP_READ_JS``, composed into ``dom.SNAPSHOT_JS``: still one round trip)
walks the top document and, recursively, every open shadow root and every same-origin
frame (``<iframe>``/``<frame>``, srcdoc included), with the frame's offset into the top
viewport and its box as a clip. It answers, in top-viewport CSS px:

* ``fields`` — every visible editable field with its value (always read: an empty secret
  list still masks non-empty password fields, in frames and shadow roots too);
* ``texts`` (only when secrets are requested, else null) — visible text nodes *and* the
  generated content of ``::before`` / ``::after`` (``content: 'x'`` or ``attr(data-x)``,
  resolved by the browser; boxed by its element), in rendering order, so a secret split
  between a node and a pseudo element is caught by privacy.SPLIT;
* ``attrs`` (with secrets) — values a control renders from an attribute: placeholders,
  ``<input type=button|submit|reset>`` values, ``<option>`` / ``<optgroup>`` labels (boxed
  by their ``<select>``: closed it shows the selected one, a listbox shows them all),
  ``<img alt>`` and ``<input type=image alt>`` (drawn when the image fails to load);
* ``opaque`` (with secrets) — boxes that cannot be read and are masked whole: every visible
  ``<canvas>`` (the page may have drawn anything it was typed), ``<object>``/``<embed>``,
  and every cross-origin or sandboxed frame (its document is closed to the page: fail closed
  per frame);
* ``truncated`` — a reason when the walk stopped early (with secrets: more than ``NODE_CAP``
  nodes; frames nested deeper than ``FRAME_DEPTH``; a tree too deep for the stack): the
  snapshot is then untied and the whole screen is masked, never a silent partial read.

Without secrets the read stays cheap: fields, frames and shadow hosts are found by selector
queries (no cap: nothing per text node). With secrets every node is walked once, in order;
``::before``/``::after`` styles are asked only of elements an author rule gives content
(every element where a style sheet cannot be read, e.g. a cross-origin one).

It also arms the tripwire of every same-origin frame it read (``__nativeAgentArm``), so a
frame that changes between the read and the CDP capture is captured again as the top
document is (on Playwright's screenshot path a frame's change moves the top document's
version, and shadow roots are observed as documents are: see ``dom.VERSION_INIT_JS``).
Not covered (see the README): closed shadow roots (invisible to page script), counters
in generated content, a pseudo element positioned outside its element's box, images/video
whose pixels show a value, native tooltips and select popups (not in the screenshot).
Secrets are never sent to the page: matching is done in envs.browser.privacy.
"""

from __future__ import annotations

NODE_CAP = 50_000  # nodes (elements + text) walked before the read gives up (fail closed)
FRAME_DEPTH = 8  # nested same-origin frames followed

DEEP_READ_JS = """
(texts) => {
  const out = {fields: [], texts: texts ? [] : null, attrs: texts ? [] : null,
               opaque: texts ? [] : null, truncated: null};
  const NO_VALUE = ['hidden', 'checkbox', 'radio', 'button', 'submit', 'reset', 'image',
                    'range', 'color', 'file'];
  const wins = [];
  let seen = 0;
  class Stop extends Error {}
  const stop = (why) => { out.truncated = why; throw new Stop(why); };
  // a CSS rect of a node of ctx's document → [l, t, r, b] in top px, clipped to the frame
  const place = (r, ctx) => {
    if (!r || r.width <= 0 || r.height <= 0) return null;
    const c = ctx.clip;
    const b = [Math.max(r.left + ctx.dx, c[0]), Math.max(r.top + ctx.dy, c[1]),
               Math.min(r.right + ctx.dx, c[2]), Math.min(r.bottom + ctx.dy, c[3])];
    return b[2] > b[0] && b[3] > b[1] ? b : null;
  };
  const boxOf = (el, ctx) => {  // an element's box; display: contents → its parent's
    for (let e = el, k = 0; e && k < 6; e = e.parentElement, k++) {
      if (e.getClientRects().length) return place(e.getBoundingClientRect(), ctx);
      if (ctx.win.getComputedStyle(e).display !== 'contents') return null;
    }
    return null;
  };
  const add = (list, el, ctx, text) => {
    if (!text || !String(text).trim()) return;
    const rect = boxOf(el, ctx);
    if (rect) list.push({rect, text: String(text).slice(0, 10000)});
  };
  const quoted = /"((?:\\\\.|[^"\\\\])*)"|'((?:\\\\.|[^'\\\\])*)'/g;
  const generated = (el, ctx, which) => {
    const c = ctx.win.getComputedStyle(el, which).content;
    if (!c || c === 'none' || c === 'normal') return;
    let s = '';
    for (const m of c.matchAll(quoted)) s += (m[1] ?? m[2]).replace(/\\\\(.)/g, '$1');
    add(out.texts, el, ctx, s);
  };
  // The elements of a document or shadow root that author rules give ::before/::after
  // content (asking every element's pseudo style costs ~0.1 ms each): null = ask them all,
  // when a sheet cannot be read (cross-origin) or a selector not resolved (nested CSS).
  const PSEUDO = /::?(before|after)\\b/gi;
  const generators = (root) => {
    const sels = [];
    let all = false;
    const scan = (rules, nested) => {
      for (const r of rules) {
        if (r.styleSheet) { try { scan(r.styleSheet.cssRules, false); } catch (e) { all = true; } }
        const sel = r.selectorText;
        if (sel !== undefined && sel.search(PSEUDO) >= 0) {
          const c = r.style ? r.style.getPropertyValue('content').trim() : '';
          if (c && !['none', 'normal', '""', "''"].includes(c)) {
            if (nested) all = true;
            else sels.push(...sel.split(',').map((p) => {
              const q = p.replace(PSEUDO, '').trim();
              return !q || /[>+~]$/.test(q) ? `${q} *` : q;
            }));
          }
        }
        if (r.cssRules && r.cssRules.length) scan(r.cssRules, nested || sel !== undefined);
      }
    };
    for (const sh of [...root.styleSheets, ...(root.adoptedStyleSheets || [])]) {
      try { scan(sh.cssRules, false); } catch (e) { all = true; }
    }
    if (all) return null;
    if (!sels.length) return new Set();
    try { return new Set(root.querySelectorAll(sels.join(','))); } catch (e) { return null; }
  };
  const sinks = (el, tag, ctx) => {
    if (tag === 'canvas' || tag === 'object' || tag === 'embed') {
      const rect = place(el.getBoundingClientRect(), ctx);
      if (rect) out.opaque.push({rect, kind: tag});
      return;
    }
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (tag === 'input' || tag === 'textarea') add(out.attrs, el, ctx, el.placeholder);
    if (tag === 'input' && ['button', 'submit', 'reset'].includes(type))
      add(out.attrs, el, ctx, el.value);
    if (tag === 'img' || (tag === 'input' && type === 'image'))
      add(out.attrs, el, ctx, el.getAttribute('alt'));
    if (tag === 'select') {
      for (const o of el.querySelectorAll('option,optgroup'))
        add(out.attrs, el, ctx, o.localName === 'option' ? o.label || o.text : o.label);
    }
  };
  const field = (el, tag, ctx) => {
    const editable = tag !== 'input' && tag !== 'textarea';
    if (editable && !(el.hasAttribute('contenteditable') && el.isContentEditable)) return;
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (tag === 'input' && NO_VALUE.includes(type)) return;
    const rect = place(el.getBoundingClientRect(), ctx);
    if (!rect) return;
    const value = editable ? el.innerText : (el.value || '');
    out.fields.push({rect, password: tag === 'input' && type === 'password',
                     value: String(value).slice(0, 10000)});
  };
  const frame = (el, ctx) => {
    let doc = null;
    try { doc = el.contentDocument; } catch (e) { doc = null; }
    const r = el.getBoundingClientRect();
    if (!doc || !doc.documentElement) {  // cross-origin or sandboxed: unreadable
      const rect = place(r, ctx);
      if (texts && rect) out.opaque.push({rect, kind: 'cross-origin frame'});
      return;
    }
    if (ctx.depth >= __DEPTH__) stop('same-origin frames are nested too deep to read');
    const cs = ctx.win.getComputedStyle(el);
    const left = r.left + el.clientLeft + parseFloat(cs.paddingLeft || '0');
    const top = r.top + el.clientTop + parseFloat(cs.paddingTop || '0');
    const inner = place({left, top, right: left + el.clientWidth - parseFloat(
      cs.paddingLeft || '0') - parseFloat(cs.paddingRight || '0'), bottom: top +
      el.clientHeight - parseFloat(cs.paddingTop || '0') - parseFloat(cs.paddingBottom || '0'),
      width: el.clientWidth, height: el.clientHeight}, ctx);
    if (!inner) return;  // not on screen
    const win = doc.defaultView;
    wins.push(win);
    if (!texts) { fieldsOf(doc, {doc, win, dx: ctx.dx + left, dy: ctx.dy + top, clip: inner,
                                 depth: ctx.depth + 1}); return; }
    const sub = {doc, win, range: doc.createRange(), dx: ctx.dx + left, dy: ctx.dy + top,
                 clip: inner, depth: ctx.depth + 1};
    visit(doc.documentElement, sub, texts ? generators(doc) : null);
  };
  const visit = (node, ctx, gen) => {
    if (++seen > __CAP__ && texts) stop('the page has more than __CAP__ nodes to read');
    if (node.nodeType === 3) {
      if (!texts || !node.nodeValue || !node.nodeValue.trim()) return;
      ctx.range.selectNodeContents(node);
      const rect = place(ctx.range.getBoundingClientRect(), ctx);
      if (rect) out.texts.push({rect, text: node.nodeValue.slice(0, 10000)});
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = node.localName;
    field(node, tag, ctx);
    if (tag === 'iframe' || tag === 'frame') { frame(node, ctx); return; }
    const shadow = node.shadowRoot;  // its :host rules style the host's pseudos too
    const pseudos = texts && (!gen || gen.has(node) || shadow);
    if (texts) sinks(node, tag, ctx);
    if (pseudos) generated(node, ctx, '::before');
    if (shadow) {
      const inner = texts ? generators(shadow) : null;
      for (const c of shadow.childNodes) visit(c, ctx, inner);
    }
    for (const c of node.childNodes) visit(c, ctx, gen);
    if (pseudos) generated(node, ctx, '::after');
  };
  // without secrets only fields matter: two selector queries per document / shadow root
  const fieldsOf = (root, ctx) => {
    const sel = 'input,textarea,[contenteditable],iframe,frame';
    for (const el of root.querySelectorAll(sel)) {
      const tag = el.localName;
      if (tag === 'iframe' || tag === 'frame') frame(el, ctx); else field(el, tag, ctx);
    }
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) fieldsOf(el.shadowRoot, ctx);
  };
  const top = {doc: document, win: window, range: document.createRange(), dx: 0, dy: 0,
               clip: [0, 0, innerWidth, innerHeight], depth: 0};
  try {
    if (!texts) fieldsOf(document, top);
    else if (document.documentElement) visit(document.documentElement, top, generators(document));
  } catch (e) {
    if (!(e instanceof Stop)) out.truncated = 'the page could not be read whole: ' +
      (e instanceof RangeError ? 'nested too deep' : String(e && e.name));
  }
  for (const w of wins) { try { w.__nativeAgentArm && w.__nativeAgentArm(); } catch (e) {} }
  return out;
}
""".replace("__CAP__", str(NODE_CAP)).replace("__DEPTH__", str(FRAME_DEPTH))
