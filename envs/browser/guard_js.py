"""The dispatch guard's page script (see :mod:`envs.browser.guard` for what it enforces).

Installed in every document of the context before any page script (``add_init_script``):
everything it calls is captured at install time and called through bound originals, so a
page that patches ``EventTarget.prototype``, ``Node.prototype.contains``,
``elementFromPoint`` or ``Function.prototype.call`` later changes nothing here. Its API
(``window.__nativeAgentGuard``, frozen, non-configurable) answers only calls that carry the
env's secret key, which only the env knows (it is not in any function the page can
stringify); element identities stay in the closure.
"""

from __future__ import annotations

GUARD_INIT_JS = r"""
(() => {
  const W = window, D = document, O = Object, Str = String;
  if (O.getOwnPropertyDescriptor(W, '__nativeAgentGuard')) return;
  const KEY = '__KEY__';
  const un = f => Function.prototype.call.bind(f);
  const gd = (p, k) => { const d = O.getOwnPropertyDescriptor(p, k);
    return d && d.get ? un(d.get) : () => null; };
  const addL = un(EventTarget.prototype.addEventListener);
  const prevent = un(Event.prototype.preventDefault);
  const stopNow = un(Event.prototype.stopImmediatePropagation);
  const cpath = un(Event.prototype.composedPath);
  const evType = gd(Event.prototype, 'type');
  const cx = gd(MouseEvent.prototype, 'clientX'), cy = gd(MouseEvent.prototype, 'clientY');
  const submitter = gd(SubmitEvent.prototype, 'submitter');
  const contains = un(Node.prototype.contains), rootOf = un(Node.prototype.getRootNode);
  const hostOf = gd(ShadowRoot.prototype, 'host'), openRoot = gd(Element.prototype, 'shadowRoot');
  const closest = un(Element.prototype.closest), getAttr = un(Element.prototype.getAttribute);
  const matches = un(Element.prototype.matches), tagOf = gd(Element.prototype, 'tagName');
  const textOf = gd(Node.prototype, 'textContent'), parentOf = gd(Node.prototype, 'parentNode');
  const docAt = un(Document.prototype.elementFromPoint);
  const rootAt = un(ShadowRoot.prototype.elementFromPoint);
  const docActive = gd(Document.prototype, 'activeElement');
  const rootActive = gd(ShadowRoot.prototype, 'activeElement');
  const control = gd(HTMLLabelElement.prototype, 'control');
  const inputForm = gd(HTMLInputElement.prototype, 'form');
  const formElements = gd(HTMLFormElement.prototype, 'elements');
  const wmGet = un(WeakMap.prototype.get), wmSet = un(WeakMap.prototype.set);
  const frameWin = gd(HTMLIFrameElement.prototype, 'contentWindow');
  const clL = gd(Element.prototype, 'clientLeft'), clT = gd(Element.prototype, 'clientTop');
  const rectOf = un(Element.prototype.getBoundingClientRect);
  const rL = gd(DOMRectReadOnly.prototype, 'left'), rT = gd(DOMRectReadOnly.prototype, 'top');
  let P = null;  // the parent window (captured: a page may overwrite window.parent)
  try { P = W.parent !== W ? W.parent : null; } catch (e) { P = null; }
  const rand = un(Crypto.prototype.getRandomValues), crypto = W.crypto, U32 = Uint32Array;
  const now = Date.now, EXPIRES_MS = 60000;  // an arming the env never lifted lapses
  const HEX = '0123456789abcdef', ATTRS = ['aria-label', 'value', 'title', 'alt', 'href',
    'type', 'for'];
  // every shadow root, open or closed, that script makes (a closed one is reachable only here)
  const roots = new WeakMap();
  const attach = Element.prototype.attachShadow;
  if (attach) {
    const attachCall = un(attach);
    Element.prototype.attachShadow = function attachShadow(init) {
      const root = attachCall(this, init);
      try { wmSet(roots, this, root); } catch (e) {}
      return root;
    };
  }
  // what the gate's reader calls the element a point presses (dom.ELEMENT_AT_JS)
  const SEL = 'a[href],button,input,select,textarea,label,summary,[role],[onclick],' +
    '[contenteditable=""],[contenteditable="true"],[tabindex]';
  const SEL_CONTROL = SEL.replace('label,', '');  // (computed before any page script)
  // pressables whose default action runs for a click inside them (a link around a button)
  const PRESS = 'a[href],area[href],button,summary,input[type=submit],input[type=image],' +
    'input[type=reset],input[type=button]';
  const BY_LABEL = 'button,input[type=submit],input[type=image],input[type=reset],' +
    'input[type=button]';
  const SUBMITS = 'button:not([type]),button[type=submit],input[type=submit],input[type=image]';
  const tryEl = (f, a, b, c) => { try { return f(a, b, c); } catch (x) { return null; } };
  const rootIn = el => tryEl(wmGet, roots, el) || tryEl(openRoot, el) || null;
  const up = e => tryEl(hostOf, tryEl(rootOf, e));
  // the deepest element at a point / with focus, through open and closed shadow roots
  const deepAt = (x, y, el) => {
    for (let hops = 0; el && hops < 32; hops++) {
      const r = rootIn(el);
      const inner = r ? tryEl(rootAt, r, x, y) : null;
      if (!inner || inner === el) break;
      el = inner;
    }
    return el;
  };
  const deepFocus = el => {
    for (let hops = 0; el && hops < 32; hops++) {
      const r = rootIn(el);
      const inner = r ? tryEl(rootActive, r) : null;
      if (!inner || inner === el) break;
      el = inner;
    }
    return el;
  };
  const closestDeep = (el, sel) => {
    for (let e = el, hops = 0; e && hops < 64; hops++) {
      const c = tryEl(closest, e, sel);
      if (c) return c;
      e = up(e);
    }
    return null;
  };
  const inside = (el, J) => {
    for (let e = el, hops = 0; e && hops < 64; hops++) {
      if (e === J || tryEl(contains, J, e) === true) return true;
      e = up(e);
    }
    return false;
  };
  const sig = el => {  // (a long text — a whole page region — is too live to compare)
    const text = Str(tryEl(textOf, el));
    let s = Str(tryEl(tagOf, el)) + '|' + (text.length <= 2000 ? text : '');
    for (let i = 0; i < ATTRS.length; i++) s += '|' + Str(tryEl(getAttr, el, ATTRS[i]));
    return s;
  };
  const defaultButton = el => {
    const f = tryEl(inputForm, el);
    const els = f ? tryEl(formElements, f) : null;
    for (let i = 0; els && i < els.length; i++)
      if (tryEl(matches, els[i], SUBMITS) === true) return els[i];
    return null;
  };
  const token = () => {
    const a = new U32(4);
    rand(crypto, a);
    let s = '';
    for (let i = 0; i < 4; i++) for (let k = 28; k >= 0; k -= 4) s += HEX[(a[i] >>> k) & 15];
    return s;
  };
  // the marks of the gate's reads: token -> what was judged (kept in this closure only)
  const marks = O.create(null), order = [];
  let first = 0, armed = null;
  const record = (hit, child) => {
    const judged = closestDeep(hit, SEL);
    const J = judged || hit, t = token();
    marks[t] = {J, strict: !judged, sig: sig(J), submit: defaultButton(J), child};
    order[order.length] = t;
    if (order.length - first > 32) delete marks[order[first++]];
    return t;
  };
  // a same-origin frame at the point: its own guard (installed before any of its scripts,
  // so it is the real one) marks what is inside it
  const intoFrame = (k, el, x, y) => {
    if (tryEl(tagOf, el) !== 'IFRAME') return null;
    let g = null;
    try { g = frameWin(el).__nativeAgentGuard; } catch (e) { return null; }  // cross-origin
    const r = tryEl(rectOf, el);
    if (!g || !r) return null;
    const t = g.mark(k, x - rL(r) - clL(el), y - rT(r) - clT(el));
    return t ? {g, t} : null;
  };
  const mark = (k, x, y) => {
    if (k !== KEY) return null;
    const hit = deepAt(x, y, tryEl(docAt, D, x, y));
    return hit ? record(hit, intoFrame(k, hit, x, y)) : null;
  };
  const markFocus = k => {
    if (k !== KEY) return null;
    const el = deepFocus(tryEl(docActive, D));
    return el ? record(el, null) : null;
  };
  // spec: [token, role] pairs; roles: press (every pressing event lands on the mark),
  // start / end (a drag's press and release), keys (key events on it; the form's default
  // button read with it may be clicked by Enter)
  const arm = (k, spec) => {
    if (k !== KEY) return 'bad key';
    const set = [], frames = [];  // frames: [guard, its spec] of the marks inside frames
    for (let i = 0; i < spec.length; i++) {
      const m = marks[spec[i][0]], role = Str(spec[i][1]);
      if (!m) return 'unknown mark';
      set[set.length] = {m, role};
      if (!m.child) continue;
      let f = 0;
      while (f < frames.length && frames[f][0] !== m.child.g) f++;
      if (f === frames.length) frames[f] = [m.child.g, []];
      frames[f][1][frames[f][1].length] = [m.child.t, role];
    }
    for (let f = 0; f < frames.length; f++)
      if (frames[f][0].arm(k, frames[f][1]) !== 'ok') return 'a frame changed';
    armed = {set, blocked: [], once: null, frames, until: now() + EXPIRES_MS};
    return 'ok';
  };
  const disarm = k => {
    if (k !== KEY || !armed) return null;
    const out = armed.blocked, frames = armed.frames;
    armed = null;
    for (let f = 0; f < frames.length; f++) {
      const more = frames[f][0].disarm(k) || [];
      for (let j = 0; j < more.length; j++) out[out.length] = more[j];
    }
    return out;
  };
  // whether an action is under way here or in a same-origin ancestor: a frame the gate
  // did not judge then takes no press at all (a frame slid under the pointer)
  const busy = () => {
    if (armed && now() <= armed.until) return true;
    try { const g = P && P.__nativeAgentGuard; return !!(g && g.busy()); } catch (e) {
      return false; }
  };
  // what such a frame cancelled, for the armed guard above it to report
  const report = (type, why) => {
    const note = {event: Str(type), why: Str(why)};
    if (armed && armed.blocked.length < 20) armed.blocked[armed.blocked.length] = note;
    else try { P && P.__nativeAgentGuard && P.__nativeAgentGuard.report(type, why); }
    catch (e) {}
  };
  O.defineProperty(W, '__nativeAgentGuard',
    {value: O.freeze({mark, markFocus, arm, disarm, busy, report})});

  const POINTER = O.create(null), KEYS = O.create(null);
  for (const [t, p] of [['pointerdown', 'down'], ['mousedown', 'down'], ['pointerup', 'up'],
      ['mouseup', 'up'], ['drop', 'up'], ['click', 'click'], ['auxclick', 'click'],
      ['dblclick', 'click'], ['contextmenu', 'click']]) POINTER[t] = p;
  for (const t of ['keydown', 'keypress', 'keyup']) KEYS[t] = 1;
  const describe = el => (Str(tryEl(tagOf, el) || '?') + ' ' +
    Str(tryEl(textOf, el) || '')).substring(0, 60);
  const landsOn = (el, m) => !!el && (m.strict ? el === m.J : inside(el, m.J));
  const usable = (role, phase) => phase === undefined ? role === 'keys' :
    role === 'press' || (role === 'start' && phase === 'down') ||
    (role === 'end' && phase === 'up') || (role === 'keys' && phase === 'click');
  const judgeSubmit = e => {
    const s = tryEl(submitter, e);
    for (let i = 0; i < armed.set.length; i++) {
      const m = armed.set[i].m;
      if (!s || s === m.submit || landsOn(s, m)) return null;
    }
    return 'a form is submitted by ' + describe(s) + ', which was not judged';
  };
  const judge = (e, type) => {
    if (type === 'submit') return judgeSubmit(e);
    const phase = POINTER[type], pointer = phase !== undefined;
    const path = tryEl(cpath, e);
    const top = path && path.length ? path[0] : null;
    const el = pointer ? deepAt(cx(e), cy(e), top) : deepFocus(top);
    if (armed.blocked.length)  // a press or key cut short stays cut short
      return 'an earlier event of this ' + (pointer ? 'press' : 'key') + ' was cancelled';
    if (phase === 'click' && armed.once && el === armed.once) { armed.once = null; return null; }
    let any = false;
    for (let i = 0; i < armed.set.length; i++) {
      const {m, role} = armed.set[i];
      if (!usable(role, phase)) continue;
      any = true;
      if (landsOn(el, m)) {
        if (phase === 'down' && sig(m.J) !== m.sig) return 'the judged element changed';
        if (!pointer) return null;
        for (let p = closestDeep(el, PRESS), n = 0; p && n < 16; n++) {  // each one around
          if (!inside(p, m.J))
            return 'the click is inside ' + describe(p) + ', which was not judged';
          p = closestDeep(tryEl(parentOf, p), PRESS);
        }
        const lab = closestDeep(el, 'label');
        const c = lab && !tryEl(closest, el, SEL_CONTROL) ? tryEl(control, lab) : null;
        if (c && !inside(c, m.J)) {
          if (tryEl(matches, c, BY_LABEL) === true)
            return 'the label presses ' + describe(c) + ', which was not judged';
          if (phase === 'click') armed.once = c;  // its checkbox or field: named by it
        }
        return null;
      }
      if (phase === 'click' && m.submit && el === m.submit) return null;  // Enter submits
    }
    if (!any) return pointer && phase !== 'click' ? 'a press the action does not make' : null;
    return 'the event lands on ' + describe(el) + ', not on the element the gate judged';
  };
  const guard = e => {
    if (armed && now() > armed.until) armed = null;
    if (!armed) {
      if (P && busy()) {  // a frame the gate did not judge takes no press
        prevent(e);
        stopNow(e);
        try { P.__nativeAgentGuard.report(evType(e), 'the event lands in a frame the gate ' +
          'did not judge'); } catch (x) {}
      }
      return;
    }
    const type = evType(e);
    let why;
    try { why = judge(e, type); } catch (x) { why = 'the guard could not read the event'; }
    if (why === null) return;
    prevent(e);
    stopNow(e);
    if (armed.blocked.length < 20) armed.blocked[armed.blocked.length] = {event: type, why};
  };
  for (const t of ['pointerdown', 'mousedown', 'pointerup', 'mouseup', 'drop', 'click',
      'auxclick', 'dblclick', 'contextmenu', 'keydown', 'keypress', 'keyup', 'submit'])
    addL(W, t, guard, {capture: true});
})();
"""
