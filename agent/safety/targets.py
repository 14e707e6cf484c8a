"""What an action would press, read from the env itself — the text a policy rule matches.

The reader asks for the env's declared features (:class:`agent.core.env.Feature`), never for
an env's name or type:

* ELEMENT_AT (browser): the DOM element at the point; FOCUS_TARGET: for every key that can
  press or choose (Enter, Space, newlines anywhere in typed text, arrows, Home/End, PageUp/
  PageDown, type-ahead letters: :mod:`agent.safety.keypress`) what it presses or selects on
  the focused element (or a ``type``'s point), and for a submit by Enter the form's submit
  button; links give their absolute target URL (for the URL lists). Two readings, both matched (a
  name one of them misses the other still gives): the page-JS one, and the accessible name
  and role Chromium computes (``ax_name`` / ``ax_role``, read by the browser env).
* UI_HIERARCHY (android): the node of the env's neutral tree (:mod:`agent.core.uitree`)
  under the point, climbed to its clickable ancestor, with the texts and descriptions inside
  it.
* anything else with pixels (desktop): OCR of a small crop around the point (the line
  containing the point, else the nearest within ``radius`` px).

What is read follows the action's declared traits (:class:`agent.core.actions.Trait`): none
without READS_TARGET; both ends of a TWO_POINTS action; a TYPES_TEXT action's point is a
click. A ``type`` clicks its point first: that is a press like any click, unless the point is an
editable field (then nothing is pressed, or with Enter the form's submit button is); its
keys are read too. Keys on desktop/android have no target (the focus is unknown there).
Readers fail soft but closed: an error becomes ``Target.error`` on an UNREADABLE target
(the policy's ``unknown_target`` decides, never "no rule matched").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from agent.core.actions import Action, Click, Trait, action_points
from agent.core.env import Env, Feature
from agent.core.errors import EnvClosedError, describe_error
from agent.core.observation import Observation
from agent.safety.keypress import ENTER_KEYS, action_keys, pressed
from agent.safety.seen import PixelReader

if TYPE_CHECKING:
    from model.ocr import OcrEngine

UNREADABLE = "unreadable"  # Target.source of a target the env could not read
OCR_CROP = (320, 64)  # half-width, half-height of the crop read around the point
OCR_RADIUS = 40.0  # screenshot px between the point and a line's box
UNSEEN = {  # the focus is where the reading cannot look (``frame`` of a focus reading)
    "cross-origin": "the focus is in a cross-origin frame",
    "closed-shadow": "the focus is inside a closed shadow root",
}
TEXT_ROLES = ("textbox", "searchbox")  # Chromium's roles of a field typing goes into


@dataclass(frozen=True)
class Target:
    """What the gate matched: ``text`` (shortened), where it came from, a link's URL; for
    the browser also the accessible role and name Chromium computed (part of ``text``)."""

    text: str
    source: str
    role: str | None = None
    href: str | None = None
    error: str | None = None
    ax_role: str | None = None
    ax_name: str | None = None
    seen: str | None = None  # the pixel reading (agent.safety.seen), part of ``text``

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class TargetReader:
    """Reads targets for the gate; one per episode (it caches the OCR engine). ``pixels``:
    whether a DOM read (ELEMENT_AT) also reads the pixels (:mod:`agent.safety.seen`); the
    gate sets it per action from its policy (``pixel_target``, and a rule needing a target)."""

    def __init__(
        self, ocr: OcrEngine | None = None, *, radius: float = OCR_RADIUS, pixels: bool = True
    ) -> None:
        self._ocr = ocr
        self.radius = radius
        self.pixels = pixels
        self.seen = PixelReader()  # its own OCR engine, for crops (loaded on first use)

    def read(self, action: Action, env: Env, obs: Observation) -> Target | None:
        """The target of ``action`` on ``env`` as seen in ``obs`` (None: nothing to read).
        A drag or swipe (TWO_POINTS) presses where it starts and releases where it ends (one
        that barely moves is a tap): both ends are read, and a rule matching either matches."""
        traits = type(action).traits
        if Trait.READS_TARGET not in traits:
            return None
        if Trait.TWO_POINTS in traits:
            ends = [self.read(Click(point=p), env, obs) for p in action_points(action)]
            read = [t for t in ends if t is not None]
            if not read:
                return None
            text = " | ".join(dict.fromkeys(t.text for t in read if t.text))
            errors = [t.error for t in read if t.error]
            unknown = next((t for t in read if t.source == UNREADABLE), None)
            seen = [t.seen for t in read if t.seen is not None]  # (read: "", or words)
            return Target(
                text[:300],
                unknown.source if unknown else read[0].source,  # either end unknown: unknown
                read[0].role,
                read[0].href,
                errors[0] if errors else None,
                read[0].ax_role,
                read[0].ax_name,
                " | ".join(dict.fromkeys(s for s in seen if s)) if seen else None,
            )
        point = getattr(action, "point", None)
        keys = action_keys(action)
        typing = Trait.TYPES_TEXT in traits  # its click at ``point`` presses what is there
        try:
            if keys and env.offers(Feature.FOCUS_TARGET):
                keyed = self._focus(env, obs, point, keys)
                if point is None or not env.offers(Feature.ELEMENT_AT):
                    return keyed
                return _both(self._element(env, obs, point, typing), keyed)
            if point is None:
                return None  # keys on desktop/android: the focus is unknown there
            if env.offers(Feature.ELEMENT_AT):
                return self._element(env, obs, point, typing)
            if env.offers(Feature.UI_HIERARCHY):
                return self._android(env, obs, point, typing)
            return self._ocr_text(obs, point)
        except EnvClosedError:
            raise
        except Exception as err:  # fail soft but closed: what it presses is unknown
            return Target("", UNREADABLE, error=describe_error(err)["error"][:300])
        return None

    # ---- DOM (ELEMENT_AT, FOCUS_TARGET) ----------------------------------------------------
    def _element(
        self, env: Env, obs: Observation, point: tuple[float, float], typing: bool
    ) -> Target:
        info = env.element_at(point, obs.frame())
        if info is not None and info.get("frame") == "cross-origin":
            return Target("", UNREADABLE, "iframe", error="inside a cross-origin frame")
        editable = info.get("editable", info.get("ax_role") in TEXT_ROLES) if info else False
        if info is not None and typing and editable:
            return Target("", "dom")  # typing into a field presses nothing
        target = Target("", "dom") if info is None else self._dom(info, obs)
        if self.pixels:  # the third reading: what the screenshot shows there
            target = self.seen.add(target, obs, point, info, self.radius)
        return target

    def _dom(self, info: dict[str, Any], obs: Observation) -> Target:
        editable = info.get("editable", info.get("ax_role") in TEXT_ROLES)
        own = "" if editable else info.get("text")
        text = _joined(own, info.get("label"), info.get("names"), info.get("ax_name"))
        href = info.get("href")
        if href and not href.startswith(("#", "javascript:")):
            href = urljoin(obs.url or "", href)
        role = info.get("ax_role") or info.get("role")
        return Target(text[:300], "dom", role, href or None, *_ax(info))

    def _focus(
        self, env: Env, obs: Observation, point: tuple[float, float] | None, keys: tuple[str, ...]
    ) -> Target:
        """What ``keys`` press or choose (:func:`agent.safety.keypress.pressed`) on the
        focused element (``point`` None) or the one at ``point`` (a ``type``'s click)."""
        info = env.focus_target(point, obs.frame())
        where = info.get("frame") if info is not None else None
        if where in UNSEEN:
            return Target("", UNREADABLE, info.get("tag") if info else None, error=UNSEEN[where])
        texts, unknown = pressed(info, keys)
        if info is None:
            return Target("", "dom-focus")
        if unknown is not None:
            return Target(_joined(*texts)[:300], UNREADABLE, info.get("tag"), error=unknown)
        enter = any(k in ENTER_KEYS for k in keys)
        if enter or ("space" in keys and not info.get("editable")):
            texts.append(info.get("ax_name") or "")  # the press, as Chromium names it
        role = info.get("ax_role") or info.get("tag")
        return Target(_joined(*texts)[:300], "dom-focus", role, None, *_ax(info))

    # ---- UI_HIERARCHY (android) ---------------------------------------------------------------
    def _android(
        self, env: Env, obs: Observation, point: tuple[float, float], typing: bool = False
    ) -> Target:
        node = env.ui_hierarchy(obs.frame()).pressed_at(point)
        if node is None:
            return Target("", "uiautomator")
        if typing and node.editable:
            return Target("", "uiautomator", node.short_role)  # typing into a field
        return Target(" ".join(node.texts())[:300], "uiautomator", node.short_role)

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


def _joined(*parts: Any) -> str:
    """The readings side by side, each once ("OK", not "OK OK")."""
    text = ""
    for part in parts:
        if part and isinstance(part, str) and part not in text:
            text = f"{text} {part}".strip()
    return text


def _ax(info: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(error, ax_role, ax_name) of a browser reading: a failed Chromium read is recorded."""
    err = info.get("ax_error")
    return (
        (f"accessibility read failed: {err}" if err else None),
        info.get("ax_role"),
        (info.get("ax_name") if info.get("ax_role") else None),
    )


def _both(click: Target, keys: Target) -> Target:
    """A ``type`` at a point: its click and its keys, one target (either unknown: unknown)."""
    first, second = (keys, click) if keys.source == UNREADABLE else (click, keys)
    text = _joined(click.text, keys.text)[:300]
    return Target(
        text, first.source, first.role or second.role, click.href, first.error or second.error,
        first.ax_role or second.ax_role, first.ax_name or second.ax_name, click.seen,
    )  # fmt: skip
