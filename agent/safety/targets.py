"""What an action would press, read from the env itself — the text a policy rule matches.

* browser: the DOM element at the point (``BrowserEnv.element_at``); for ``enter`` / ``space``
  keys the focused element, and for a submit by Enter the form's submit button; links give
  their absolute target URL (for the URL lists).
* android: ``uiautomator dump`` — the node under the point, climbed to its clickable
  ancestor, with the text and content descriptions inside it.
* desktop and any other env with pixels: OCR of a small crop around the point (the line
  containing the point, else the nearest within ``radius`` px).

A ``type`` clicks its point first: that is a press like any click, unless the point is an
editable field (then nothing is pressed, or with Enter the form's submit button is); keys
on desktop/android have no target (the focus is unknown there). Readers fail soft: an
error becomes ``Target.error``.
"""

from __future__ import annotations

import contextlib
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from agent.core.actions import Action
from agent.core.coords import screen_to_input
from agent.core.env import Env
from agent.core.errors import EnvClosedError, NativeAgentError
from agent.core.observation import Observation

if TYPE_CHECKING:
    from model.ocr import OcrEngine

ACTIVATING_KEYS = ("enter", "space", "kp_enter")
OCR_CROP = (320, 64)  # half-width, half-height of the crop read around the point
OCR_RADIUS = 40.0  # screenshot px between the point and a line's box
_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")

# The element that would act on Enter/Space: at a CSS point, or the focused one (x = null).
FOCUS_JS = """
([x, y]) => {
  let el = x === null ? document.activeElement : document.elementFromPoint(x, y);
  if (!el || el === document.body || el === document.documentElement) return null;
  const sel = 'a[href],button,input,select,textarea,summary,[role],[onclick],' +
              '[contenteditable=""],[contenteditable="true"],[tabindex]';
  el = el.closest(sel) || el;
  const clean = (s) => (s || '').trim().replace(/\\s+/g, ' ').slice(0, 200);
  const name = (e) => {
    const t = (e.getAttribute('type') || '').toLowerCase();
    const tag = e.tagName.toLowerCase();
    let own = '';
    if (tag === 'input') own = ['button', 'submit', 'reset'].includes(t) ? e.value : '';
    else if (tag !== 'textarea' && tag !== 'select') own = e.innerText;
    const lab = e.labels && e.labels.length ? e.labels[0].innerText : '';
    return clean([own, e.getAttribute('aria-label'), e.getAttribute('title'), lab].join(' '));
  };
  const tag = el.tagName.toLowerCase();
  const type = (el.getAttribute('type') || '').toLowerCase();
  const form = el.form || el.closest('form');
  let submit = null;
  if (form && tag === 'input') {
    const b = form.querySelector('button[type=submit],button:not([type]),' +
                                 'input[type=submit],input[type=image]');
    submit = b ? name(b) : '';
  }
  return {tag, type, text: name(el), submit, href: el.getAttribute('href'),
          editable: el.isContentEditable || tag === 'textarea' || (tag === 'input' &&
            !['button', 'submit', 'reset', 'checkbox', 'radio'].includes(type))};
}
"""


@dataclass(frozen=True)
class Target:
    """What the gate matched: ``text`` (shortened), where it came from, a link's URL."""

    text: str
    source: str
    role: str | None = None
    href: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class TargetReader:
    """Reads targets for the gate; one per episode (it caches the OCR engine and the last
    uiautomator dump)."""

    def __init__(self, ocr: OcrEngine | None = None, *, radius: float = OCR_RADIUS) -> None:
        self._ocr = ocr
        self.radius = radius
        self._dump: tuple[float, ET.Element] | None = None

    def read(self, action: Action, env: Env, obs: Observation) -> Target | None:
        """The target of ``action`` on ``env`` as seen in ``obs`` (None: nothing to read)."""
        point = getattr(action, "point", None)
        key = _activating(action)
        if point is None and key is None:
            return None
        typing = action.type == "type"  # its click at ``point`` presses what is there
        try:
            if hasattr(env, "element_at") and hasattr(env, "page"):
                return self._browser(env, obs, point, key, typing)
            if hasattr(env, "shell") and env.name == "android":
                return None if point is None else self._android(env, obs, point, typing)
            if point is not None:
                return self._ocr_text(obs, point)
        except EnvClosedError:
            raise
        except NativeAgentError as err:
            return Target("", "error", error=f"{type(err).__name__}: {err}"[:300])
        except Exception as err:  # a reader must never crash the gate (fail soft, recorded)
            return Target("", "error", error=f"{type(err).__name__}: {err}"[:300])
        return None

    # ---- browser -------------------------------------------------------------------------
    def _browser(
        self,
        env: Any,
        obs: Observation,
        point: tuple[float, float] | None,
        key: str | None,
        typing: bool = False,
    ) -> Target | None:
        frame = obs.frame()
        if key is None and point is not None and getattr(env, "element_at", None):
            info = env.element_at(point, frame)
            if info is None or (typing and info.get("editable")):
                return Target("", "dom")  # typing into a field presses nothing
            text = " ".join(
                s
                for s in (("" if info.get("editable") else info.get("text")), info.get("label"))
                if s
            )
            href = info.get("href")
            if href and not href.startswith(("#", "javascript:")):
                href = urljoin(obs.url or "", href)
            return Target(text[:300], "dom", info.get("role"), href or None)
        xy = [None, None] if point is None else list(screen_to_input(frame, *point))
        try:
            info = env.page.evaluate(FOCUS_JS, xy)
        except Exception as err:
            raise env._translate(err, "read target") from err
        if info is None:
            return Target("", "dom-focus")
        if key == "space" and info.get("editable"):
            return Target("", "dom-focus")  # a space typed into a field presses nothing
        text = info.get("text") or ""
        if info.get("submit") is not None and key in ("enter", "kp_enter"):
            text = f"{text} (submits: {info['submit']})".strip()
        elif info.get("editable") and key is not None:
            text = ""
        return Target(text[:300], "dom-focus", info.get("tag"))

    # ---- android -------------------------------------------------------------------------
    def hierarchy(self, env: Any, obs: Observation) -> ET.Element:
        """The uiautomator view hierarchy for ``obs`` (dumped once per observation)."""
        if self._dump is not None and self._dump[0] == obs.captured_at:
            return self._dump[1]
        rc, out = env.shell(["uiautomator", "dump", "/dev/tty"])
        if "<hierarchy" not in out:
            env.shell(["uiautomator", "dump", "/sdcard/window_dump.xml"])
            rc, out = env.shell(["cat", "/sdcard/window_dump.xml"])
        start, end = out.find("<hierarchy"), out.rfind("</hierarchy>")
        if start < 0 or end < 0:
            raise NativeAgentError(f"uiautomator dump gave no hierarchy ({rc}): {out[:120]!r}")
        try:
            root = ET.fromstring(out[start : end + len("</hierarchy>")])
        except ET.ParseError as err:
            raise NativeAgentError(f"uiautomator dump is not valid XML: {err}") from err
        self._dump = (obs.captured_at, root)
        return root

    def _android(
        self, env: Any, obs: Observation, point: tuple[float, float], typing: bool = False
    ) -> Target:
        ux, uy = screen_to_input(obs.frame(), *point)
        root = self.hierarchy(env, obs)
        path = _deepest(root, ux, uy, [])
        if not path:
            return Target("", "uiautomator")
        node = next((n for n in reversed(path) if n.get("clickable") == "true"), path[-1])
        if typing and "EditText" in (node.get("class") or ""):
            return Target("", "uiautomator", "EditText")  # typing into a field
        texts = []
        for n in node.iter("node"):
            for attr in ("text", "content-desc"):
                v = (n.get(attr) or "").strip()
                if v and n.get("password") != "true":
                    texts.append(v)
        role = (node.get("class") or "").rsplit(".", 1)[-1] or None
        return Target(" ".join(texts)[:300], "uiautomator", role)

    # ---- OCR (desktop, anything with pixels) -----------------------------------------------
    @property
    def ocr(self) -> OcrEngine:
        if self._ocr is None:
            from model.ocr import OcrEngine

            self._ocr = OcrEngine()
        return self._ocr

    def ocr_lines(self, obs: Observation, point: tuple[float, float]) -> list[tuple[str, tuple]]:
        """(text, box in screenshot px) of the lines read in a crop around ``point``."""
        arr = obs.array
        h, w = arr.shape[:2]
        x, y = min(max(point[0], 0), w - 1), min(max(point[1], 0), h - 1)
        x0, y0 = max(0, int(x) - OCR_CROP[0]), max(0, int(y) - OCR_CROP[1])
        x1, y1 = min(w, int(x) + OCR_CROP[0]), min(h, int(y) + OCR_CROP[1])
        result = self.ocr.read(arr[y0:y1, x0:x1])
        return [
            (ln.text, (ln.box[0] + x0, ln.box[1] + y0, ln.box[2] + x0, ln.box[3] + y0))
            for ln in result.lines
        ]

    def _ocr_text(self, obs: Observation, point: tuple[float, float]) -> Target:
        best: tuple[float, str] | None = None
        for text, (bx1, by1, bx2, by2) in self.ocr_lines(obs, point):
            dx = max(bx1 - point[0], 0.0, point[0] - bx2)
            dy = max(by1 - point[1], 0.0, point[1] - by2)
            d = math.hypot(dx, dy)
            if d <= self.radius and (best is None or d < best[0]):
                best = (d, text)
        return Target(best[1][:300] if best else "", "ocr")


def _activating(action: Action) -> str | None:
    """The key that would activate/submit: a ``key`` ending in Enter/Space, or a ``type``
    with ``enter``."""
    if action.type == "key":
        last = action.keys.rsplit("+", 1)[-1]
        return last if last in ACTIVATING_KEYS else None
    if action.type == "type" and getattr(action, "enter", False):
        return "enter"
    return None


def node_bounds(node: ET.Element) -> tuple[int, int, int, int] | None:
    m = _BOUNDS.fullmatch((node.get("bounds") or "").strip())
    return tuple(int(v) for v in m.groups()) if m else None  # type: ignore[return-value]


def _deepest(node: ET.Element, x: int, y: int, path: list[ET.Element]) -> list[ET.Element]:
    """The path of nodes down to the last-drawn (topmost) leaf containing (x, y)."""
    found = path
    for child in node.findall("node"):
        b = node_bounds(child)
        if b and b[0] <= x < b[2] and b[1] <= y < b[3]:
            with contextlib.suppress(RecursionError):
                found = _deepest(child, x, y, [*path, child])
    return found
