"""OracleModel: plays a task's declarative solution on the live page, as a model would.

Each ``act`` resolves the next step's selector in the page, and answers one action in
the plain-JSON format with screenshot-px coordinates (``point`` = the element's centre,
``box`` = its box, converted only via agent.core.coords). An element that is off-screen gets a
real Scroll action toward it first; one not rendered yet gets a short Wait. When the steps
are done it answers Finish. This gives gold episodes and scripted runs.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from agent.core.coords import Frame, input_to_screen
from agent.core.errors import ConfigError, ModelError
from agent.core.model import Model, ModelReply, ModelRequest
from envs.browser.dom import rect_to_screen
from envs.browser.errors import says_dead

if TYPE_CHECKING:
    from agent.core.task import Task
    from envs.browser.env import BrowserEnv

POINTER_OPS = {"click", "double_click", "right_click", "middle_click", "hover"}
WAIT_S = 0.3
EDGE_CSS = 120  # an occluded element this close to a view edge is scrolled, not waited for

# Where an element is, whether it is visible, and whether a press at its centre reaches it.
PROBE_JS = """
(el) => {
  const r = el.getBoundingClientRect();
  const st = getComputedStyle(el);
  const visible = r.width > 0 && r.height > 0 && st.visibility !== 'hidden' &&
                  st.display !== 'none' && Number(st.opacity) > 0;
  let sc = el.parentElement;
  while (sc && sc !== document.body && sc !== document.documentElement) {
    const s = getComputedStyle(sc);
    const can = /(auto|scroll)/.test(s.overflowY + s.overflowX);
    const over = sc.scrollHeight > sc.clientHeight + 1 || sc.scrollWidth > sc.clientWidth + 1;
    if (can && over) break;
    sc = sc.parentElement;
  }
  const doc = !sc || sc === document.body || sc === document.documentElement;
  let v = [0, 0, innerWidth, innerHeight];
  if (!doc) {
    const c = sc.getBoundingClientRect();
    v = [Math.max(0, c.left), Math.max(0, c.top), Math.min(innerWidth, c.right),
         Math.min(innerHeight, c.bottom)];
  }
  const mid = (lo, hi) => (hi - lo >= 1 ? Math.max(lo, (lo + hi - 1) / 2) : lo);
  const cx = mid(r.left, r.right), cy = mid(r.top, r.bottom);
  const inView = cx >= v[0] && cx < v[2] && cy >= v[1] && cy < v[3];
  const hit = inView ? document.elementFromPoint(cx, cy) : null;
  return {
    visible, doc, inView, rect: [r.left, r.top, r.right, r.bottom], view: v,
    center: [cx, cy], reaches: !!hit && (hit === el || el.contains(hit)),
  };
}
"""


class OracleModel(Model):
    """A scripted "model" that follows a task's ``solution`` steps in a live BrowserEnv.

    Steps (dicts): ``click`` / ``double_click`` / ``right_click`` / ``middle_click`` /
    ``hover`` with ``selector``; ``type`` with ``text`` (+ optional ``selector``,
    ``clear``, ``enter``); ``key`` with ``keys``; ``scroll`` with ``direction``,
    ``amount``; ``wait`` with ``seconds``; ``navigate`` with ``url`` (or ``site`` +
    ``path``); ``back``; ``expect`` with ``selector`` (waits until it is visible, emits
    nothing once it is); ``finish`` with an optional ``answer``.
    """

    name = "oracle"
    format = "json"
    convention = "screen"

    def __init__(
        self,
        env: BrowserEnv,
        task: Task | None = None,
        *,
        steps: list[dict[str, Any]] | None = None,
        max_waits: int = 40,
        max_scrolls: int = 40,
    ) -> None:
        if steps is None:
            steps = getattr(task, "solution", None)
            if not steps:
                raise ConfigError(f"task {getattr(task, 'id', task)!r} has no oracle solution")
        self.env = env
        self.task_id = getattr(task, "id", None)
        self.steps = [dict(s) for s in steps]
        self.index = 0
        self.max_waits = max_waits
        self.max_scrolls = max_scrolls
        self._waits = 0
        self._scrolls = 0
        self._last_rect: list[float] | None = None

    @property
    def done(self) -> bool:
        return self.index >= len(self.steps)

    def reset(self) -> None:
        self.index, self._waits, self._scrolls, self._last_rect = 0, 0, 0, None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "task": self.task_id, "steps": len(self.steps)}

    def act(self, request: ModelRequest) -> ModelReply:
        t0 = time.perf_counter()
        action = self.next_action(request.frame)
        return ModelReply(
            text=json.dumps(action), timings={"oracle_s": round(time.perf_counter() - t0, 4)}
        )

    # ---- the decision -------------------------------------------------------------------
    def next_action(self, frame: Frame | None = None) -> dict[str, Any]:
        """The next action as a JSON-ready dict (screenshot px)."""
        frame = frame or self.env.geometry()
        while not self.done:
            step = self.steps[self.index]
            op = step.get("op")
            if op == "expect":
                info = self._probe(step["selector"])
                if info is not None and info["visible"]:
                    self._advance()
                    continue
                return self._wait(step)
            if op in POINTER_OPS or (op == "type" and step.get("selector")):
                return self._pointer(step, frame)
            action = self._plain(step)
            self._advance()
            return action
        return {"type": "finish", "status": "success"}

    def _plain(self, step: dict[str, Any]) -> dict[str, Any]:
        op = step.get("op")
        if op == "type":
            return {
                "type": "type",
                "text": step["text"],
                "clear": bool(step.get("clear")),
                "enter": bool(step.get("enter")),
            }
        if op == "key":
            return {"type": "key", "keys": step["keys"]}
        if op == "scroll":
            return {
                "type": "scroll",
                "direction": step.get("direction", "down"),
                "amount": int(step.get("amount", 5)),
            }
        if op == "wait":
            return {"type": "wait", "seconds": float(step.get("seconds", 1.0))}
        if op == "navigate":
            url = step.get("url") or self.env.site_url(step["site"], step.get("path", ""))
            return {"type": "navigate", "url": url}
        if op == "back":
            return {"type": "back"}
        if op == "finish":
            self.index = len(self.steps)
            out: dict[str, Any] = {"type": "finish", "status": step.get("status", "success")}
            if step.get("answer") is not None:
                out["answer"] = step["answer"]
            return out
        raise ConfigError(f"oracle step {self.index} has an unknown op {op!r}: {step}")

    def _pointer(self, step: dict[str, Any], frame: Frame) -> dict[str, Any]:
        selector = step["selector"]
        info = self._probe(selector)
        if info is None or not info["visible"]:
            return self._wait(step)
        if not info["inView"]:
            return self._scroll_toward(step, info, frame)
        if not info["reaches"]:  # covered: by a sticky bar near an edge, or by a transient
            top, bottom = info["view"][1], info["view"][3]
            if info["center"][1] < top + EDGE_CSS:
                return self._scroll(step, info, frame, "up", 1)
            if info["center"][1] > bottom - EDGE_CSS:
                return self._scroll(step, info, frame, "down", 1)
            return self._wait(step)
        box, point = rect_to_screen(frame, tuple(info["rect"]))
        box_j = [round(v, 2) for v in box]
        point_j = [round(v, 2) for v in point]
        self._advance()
        if step["op"] == "type":
            return {
                "type": "type",
                "text": step["text"],
                "point": point_j,
                "box": box_j,
                "clear": bool(step.get("clear")),
                "enter": bool(step.get("enter")),
            }
        return {
            "type": step["op"],
            "point": point_j,
            "box": box_j,
            "target": step.get("target") or selector,
        }

    # ---- helpers ------------------------------------------------------------------------
    def _probe(self, selector: str) -> dict[str, Any] | None:
        loc = self.env.page.locator(selector)
        try:
            if loc.count() == 0:
                return None
            return loc.first.evaluate(PROBE_JS)
        except Exception as err:  # element detached mid-probe, or a navigation
            if says_dead(err):
                raise ModelError(f"oracle: the page is gone ({err})") from err
            return None

    def _advance(self) -> None:
        self.index += 1
        self._waits = self._scrolls = 0
        self._last_rect = None

    def _wait(self, step: dict[str, Any]) -> dict[str, Any]:
        self._waits += 1
        if self._waits > self.max_waits:
            raise ModelError(
                f"oracle: step {self.index} {step} never became ready "
                f"(waited {self.max_waits} times) on {self.env.page.url}"
            )
        return {"type": "wait", "seconds": WAIT_S}

    def _scroll_toward(
        self, step: dict[str, Any], info: dict[str, Any], frame: Frame
    ) -> dict[str, Any]:
        (cx, cy), (vl, vt, vr, vb) = info["center"], info["view"]
        dy, dx = cy - (vt + vb) / 2, cx - (vl + vr) / 2
        inside_x = vl <= cx < vr
        if not inside_x and abs(dx) >= abs(dy):
            return self._scroll(step, info, frame, "right" if dx > 0 else "left", _notches(dx))
        return self._scroll(step, info, frame, "down" if dy > 0 else "up", _notches(dy))

    def _scroll(
        self, step: dict[str, Any], info: dict[str, Any], frame: Frame, direction: str, n: int
    ) -> dict[str, Any]:
        if self._last_rect is not None and self._last_rect == info["rect"]:
            raise ModelError(f"oracle: scrolling does not move {step['selector']!r}")
        self._scrolls += 1
        if self._scrolls > self.max_scrolls:
            raise ModelError(f"oracle: could not scroll {step['selector']!r} into view")
        self._last_rect = info["rect"]
        action: dict[str, Any] = {"type": "scroll", "direction": direction, "amount": n}
        if not info["doc"]:  # scroll the element's own container, not the page
            vl, vt, vr, vb = info["view"]
            x, y = input_to_screen(frame, (vl + vr) / 2, (vt + vb) / 2)
            action["point"] = [round(x, 2), round(y, 2)]
        return action


def _notches(css_px: float) -> int:
    """Wheel notches (100 CSS px each) to move ``css_px``; 1 to 10 per action."""
    return max(1, min(10, round(abs(css_px) / 100)))
