"""The capture's page script (see :mod:`envs.browser.record` for what it reports).

Installed in every document of the env's contexts (``add_init_script``, before any page
script), dormant until a capture exposes its binding. It listens first, in the capture phase on
``window``, so a page handler that stops propagation hides nothing; shadow roots need no
listeners of their own, the input events being composed (``composedPath()[0]`` is the deepest
element through open roots). Only trusted events are reported. Each report goes to the env
through the binding ``__BINDING__`` with the capture's secret key (a page script may call the
binding too, but without the key its calls are dropped). The listeners and helpers are bound
at install time, so a page that patches prototypes later changes nothing here.

Coordinates leave the page in CSS px of the highest window this document can reach through
same-origin ``frameElement`` s (the top one unless a cross-origin frame is in between: then
``hops`` says how far it got and the env adds the rest); times as ``performance.timeOrigin +
event.timeStamp`` (ms since the epoch, the platform's event time).
"""

from __future__ import annotations

RECORD_INIT_JS = r"""
(() => {
  const W = window, O = Object, KEY = '__KEY__', NAME = '__BINDING__', FLAG = '__FLAG__';
  if (O.getOwnPropertyDescriptor(W, FLAG)) return;
  try { O.defineProperty(W, FLAG, {value: true}); } catch (e) { return; }
  const NAMES = __KEYMAP__;
  const un = f => Function.prototype.call.bind(f);
  const addL = un(EventTarget.prototype.addEventListener);
  const cpath = un(Event.prototype.composedPath);
  const rectOf = un(Element.prototype.getBoundingClientRect);
  const closest = un(Element.prototype.closest), getAttr = un(Element.prototype.getAttribute);
  const rootOf = un(Node.prototype.getRootNode);
  const style = W.getComputedStyle.bind(W), perf = W.performance;
  const now = un(Performance.prototype.now);
  const setT = W.setTimeout.bind(W), origin = perf.timeOrigin;
  const SEL = 'a[href],button,input,select,textarea,label,summary,[role],[onclick],' +
    '[contenteditable=""],[contenteditable="true"],[tabindex]';
  const MOVE_MS = 40;  // at most one move report per this many ms (the last one is kept)
  const LINE_PX = __LINE_PX__;  // a wheel "line" (deltaMode 1) in CSS px
  const SECRET_TEXT = '\u2022';  // what a character typed into a password field becomes
  let send = null;
  // dormant until a capture exposes the binding: one property read per event
  const live = () => {
    if (!send) { const b = W[NAME]; if (typeof b !== 'function') return false; send = b; }
    return true;
  };
  const post = msg => {
    msg.auth = KEY;
    try { const p = send(msg); if (p && p.catch) p.catch(() => {}); } catch (e) {}
  };
  const tryEl = (f, a, b, c) => { try { return f(a, b, c); } catch (x) { return null; } };
  // every shadow root script makes, closed ones too (seen from outside, an event in a closed
  // root is on its host: a password field in one would not be known as one)
  const roots = new WeakMap(), wmGet = un(WeakMap.prototype.get);
  const wmSet = un(WeakMap.prototype.set);
  const attach = Element.prototype.attachShadow;
  if (attach) {
    const attachCall = un(attach);
    Element.prototype.attachShadow = function attachShadow(init) {
      const root = attachCall(this, init);
      try { wmSet(roots, this, root); } catch (e) {}
      return root;
    };
  }
  const gd = (p, k) => { const d = O.getOwnPropertyDescriptor(p, k);
    return d && d.get ? un(d.get) : () => null; };
  const openRoot = gd(Element.prototype, 'shadowRoot');
  const rootActive = gd(ShadowRoot.prototype, 'activeElement');
  const rootAt = un(ShadowRoot.prototype.elementFromPoint);
  // the deepest element of an event, on through the closed roots: the focused one for keys,
  // the one under the pointer otherwise
  const deepest = ev => {
    const p = tryEl(cpath, ev), keys = !('clientX' in ev);
    let el = p && p.length ? p[0] : null;
    for (let n = 0; el && el.nodeType === 1 && n < 32; n++) {
      const r = tryEl(wmGet, roots, el) || tryEl(openRoot, el);
      const inner = !r ? null : keys ? tryEl(rootActive, r) : tryEl(rootAt, r, ev.clientX,
        ev.clientY);
      if (!inner || inner === el) break;
      el = inner;
    }
    return el;
  };
  // this window's origin in the highest reachable window (CSS px), and the hops it climbed
  const offset = () => {
    let w = W, ox = 0, oy = 0, hops = 0;
    for (; hops < 16; hops++) {
      let fe = null;
      try { fe = w.frameElement; } catch (e) { fe = null; }
      if (!fe) break;
      const r = rectOf(fe), cs = w.parent.getComputedStyle(fe);
      ox += r.left + fe.clientLeft + (parseFloat(cs.paddingLeft) || 0);
      oy += r.top + fe.clientTop + (parseFloat(cs.paddingTop) || 0);
      w = w.parent;
    }
    let top = false;
    try { top = w === w.top; } catch (e) { top = false; }
    return {ox, oy, hops, top};
  };
  const text = el => {
    const t = String((el && (el.innerText || el.textContent)) || '');
    return t.replace(/\s+/g, ' ').trim().slice(0, 200);
  };
  const isSecret = el => !!el && el.tagName === 'INPUT' &&
    String(tryEl(getAttr, el, 'type') || '').toLowerCase() === 'password';
  // what an event is on: the closest pressable around the deepest element (through open
  // shadow roots), else the deepest element itself
  const describe = (hit, box, exact) => {
    if (!hit || hit.nodeType !== 1) return null;
    let el = exact ? hit : null;
    for (let e = hit, n = 0; e && n < 64 && !el; n++) {
      el = tryEl(closest, e, SEL);
      const r = tryEl(rootOf, e);
      e = r && r.host ? r.host : null;
    }
    el = el || hit;
    const out = {tag: String(el.tagName || '').toLowerCase()};
    const role = tryEl(getAttr, el, 'role'), type = tryEl(getAttr, el, 'type');
    if (role) out.role = role;
    if (type) out.type = String(type).toLowerCase();
    if (el.id) out.id = String(el.id);
    const name = tryEl(getAttr, el, 'name');
    if (name) out.name = name;
    const label = tryEl(getAttr, el, 'aria-label');
    if (label) out.label = label;
    if (isSecret(el)) out.secret = true;
    else if (el.tagName !== 'INPUT' && el.tagName !== 'TEXTAREA') out.text = text(el);
    const r = tryEl(rootOf, el);
    if (r && r.host) out.shadow = true;
    if (box) {
      const b = rectOf(el);
      out.box = [b.left, b.top, b.right, b.bottom];
    }
    return out;
  };
  const mods = ev => {
    const m = [];
    if (ev.ctrlKey) m.push('ctrl');
    if (ev.shiftKey) m.push('shift');
    if (ev.altKey) m.push('alt');
    if (ev.metaKey) m.push('meta');
    return m;
  };
  const when = ev => origin + ev.timeStamp;
  const BUTTONS = ['left', 'middle', 'right'];
  let pending = null, lastMove = -1e9;
  const point = (kind, ev, extra) => {
    const o = offset();
    return O.assign({kind, t: when(ev), cx: ev.clientX + o.ox, cy: ev.clientY + o.oy,
      ox: o.ox, oy: o.oy, hops: o.hops, top: o.top,
      mods: mods(ev)}, extra || {});
  };
  const flush = () => { if (pending) { const m = pending; pending = null; post(m); } };
  const trail = () => {
    if (pending && now(perf) - lastMove >= MOVE_MS) { lastMove = now(perf); flush(); }
    else if (pending) setT(trail, MOVE_MS);
  };
  const onMove = ev => {
    if (!ev.isTrusted || !live()) return;
    if (ev.button >= 0 && ev.button <= 2 && ev.type === 'pointermove') {
      // a second button pressed or released while another is held (a chorded press)
      flush();
      const down = (ev.buttons & [1, 4, 2][ev.button]) !== 0;
      post(point(down ? 'down' : 'up', ev, {button: BUTTONS[ev.button],
        target: down ? describe(deepest(ev), true) : null}));
      return;
    }
    const first = !pending;
    pending = point('move', ev);
    const t = now(perf);
    if (t - lastMove >= MOVE_MS) { lastMove = t; flush(); }
    else if (first) setT(trail, MOVE_MS);
  };
  const onPress = ev => {
    if (!ev.isTrusted || !live() || ev.button < 0 || ev.button > 2) return;
    flush();
    const down = ev.type === 'pointerdown';
    post(point(down ? 'down' : 'up', ev, {button: BUTTONS[ev.button],
      target: down ? describe(deepest(ev), true) : null}));
  };
  // what a wheel scrolls: the closest scrollable box around the deepest element
  const scroller = hit => {  // (null: none but the page's own)
    const up = e => { const p = e.parentNode;
      return !p || p.nodeType === 9 ? null : p.nodeType === 11 ? p.host || null : p; };
    for (let e = hit, n = 0; e && n < 256; e = up(e), n++) {
      if (e.nodeType !== 1 || e === e.ownerDocument.documentElement) continue;
      const cs = style(e), can = v => v === 'auto' || v === 'scroll';
      if ((can(cs.overflowY) && e.scrollHeight > e.clientHeight) ||
          (can(cs.overflowX) && e.scrollWidth > e.clientWidth)) return e;
    }
    return null;
  };
  const onWheel = ev => {
    if (!ev.isTrusted || !live()) return;
    flush();
    const unit = ev.deltaMode === 1 ? LINE_PX : 1, page = ev.deltaMode === 2;
    const hit = deepest(ev), sc = scroller(hit);
    const px = page ? W.innerWidth : unit, py = page ? W.innerHeight : unit;
    post(point('wheel', ev, {dx: ev.deltaX * px, dy: ev.deltaY * py,
      target: sc ? describe(sc, true, true) : describe(hit, true)}));
  };
  const printable = k => typeof k === 'string' && [...k].length === 1;
  const keyName = (k, code) => {
    if (NAMES[k] !== undefined) return NAMES[k];
    if (printable(k)) return k.toLowerCase();
    if (k === 'Unidentified' || k === 'Dead' || !k) return code ? String(code).toLowerCase() : null;
    return String(k).toLowerCase();
  };
  let composing = false, keyed = false;  // a composition under way; a key is down
  const onKey = ev => {
    if (!ev.isTrusted || !live()) return;
    keyed = ev.type === 'keydown';  // (the text it types is its own: no text event for it)
    if (ev.isComposing || ev.key === 'Process') return;
    flush();
    const el = deepest(ev), secret = isSecret(el), down = ev.type === 'keydown';
    const m = mods(ev), chord = ev.ctrlKey || ev.metaKey ||
      (ev.altKey && !(ev.getModifierState && ev.getModifierState('AltGraph')));
    const target = describe(el, false) || {};
    if (secret && (printable(ev.key) && !chord || ev.key === 'Shift')) {
      // a character typed into a password field: one placeholder, no key, no code
      if (down && ev.key !== 'Shift')
        post({kind: 'text', t: when(ev), text: SECRET_TEXT, mods: [], target});
      return;
    }
    if (!secret) target.code = ev.code;
    const key = keyName(ev.key, ev.code);
    if (key === null) return;
    const out = {kind: down ? 'key_down' : 'key_up', t: when(ev), key, mods: m, target};
    if (down && printable(ev.key) && !chord) out.text = ev.key;
    if (down && ev.repeat) target.repeat = true;
    post(out);
  };
  const textOut = (ev, data) => {
    const el = deepest(ev), secret = isSecret(el);
    post({kind: 'text', t: when(ev), text: secret ? SECRET_TEXT.repeat([...data].length) : data,
      mods: [], target: describe(el, false)});
  };
  const onCompose = ev => {  // the text an input method commits
    if (!live()) return;
    if (ev.type === 'compositionstart') { composing = ev.isTrusted; return; }
    // (Chromium marks the end of a composition that a commit of text ends as untrusted)
    const ok = ev.isTrusted || composing;
    composing = false;
    if (ok && ev.data) textOut(ev, ev.data);
  };
  const onInput = ev => {  // text inserted with no key: dictation, an on-screen keyboard
    if (!ev.isTrusted || !live()) return;
    const byKey = keyed;
    keyed = false;
    if (ev.inputType === 'insertText' && !ev.isComposing && !byKey && ev.data)
      textOut(ev, ev.data);
  };
  const opts = {capture: true, passive: true};
  addL(W, 'pointermove', onMove, opts);
  addL(W, 'pointerdown', onPress, opts);
  addL(W, 'pointerup', onPress, opts);
  addL(W, 'wheel', onWheel, opts);
  addL(W, 'keydown', onKey, opts);
  addL(W, 'keyup', onKey, opts);
  addL(W, 'compositionstart', onCompose, opts);
  addL(W, 'compositionend', onCompose, opts);
  addL(W, 'beforeinput', onInput, opts);
})();
"""
