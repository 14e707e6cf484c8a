"""The step checker and the loop guard: what the loop learns, without a model, after each step.

* :func:`diff_step` compares the observation before an action with the one after it: the
  fraction of screen pixels that changed, the bounding box of the change (screen px) and
  whether the page's identity (URL, title, app) changed → ``changed`` / ``no_change``. It
  runs after every step and is recorded in the step line's ``check``.
* :class:`LoopGuard` keeps a normalised hash of each action (points bucketed to
  :data:`POINT_BUCKET` px, text lower-cased with its whitespace collapsed) beside a page
  fingerprint (:class:`Pages`: the URL, else a screenshot thumbnail) and counts repeats of the same
  (action, page) pair among the last :data:`WINDOW` steps. When a count reaches one of the
  configured ``nudges`` the model gets feedback naming the repeated action; at ``stop`` (when
  set) the episode ends with status ``loop``. ``stagnation`` steps in a row without a change
  nudge too. The same guard holds the no-progress rule (the same action on an unchanged
  screen ``no_progress_k`` times → re-prompt, then stop with ``no_progress``). Everything it
  decides is recorded in the step line's ``guard``.

One place for "did the screen change": :func:`screen_changed` is :func:`diff_step`'s pixel
test.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.core.actions import Action, dump_action
from agent.core.errors import ConfigError
from agent.core.observation import Observation

CHANNEL_DELTA = 24  # a pixel counts as changed when a channel moves by more than this
POINT_BUCKET = 8.0  # action points within one bucket (screen px) hash alike
WINDOW = 20  # repeats are counted among the last WINDOW steps
DEFAULT_NUDGES = (5, 8, 12)
DEFAULT_STAGNATION = 5
THUMB = 64  # page thumbnails sample a THUMB × THUMB grid of screen pixels
PAGE_TOLERANCE = 0.02  # screens whose thumbnails differ in fewer cells are one page


@dataclass(frozen=True)
class StepDiff:
    """What changed between two observations."""

    changed: bool
    pixels: int  # changed pixels
    fraction: float  # of the screen
    region: tuple[int, int, int, int] | None  # changed box in screen px [x0, y0, x1, y1)
    page_changed: bool  # URL, title or app changed (or the screen size)

    @property
    def result(self) -> str:
        return "changed" if self.changed else "no_change"

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "result": self.result,
            "pixels": self.pixels,
            "fraction": round(self.fraction, 6),
        }
        if self.region is not None:
            out["region"] = list(self.region)
        if self.page_changed:
            out["page_changed"] = True
        return out


def diff_step(a: Observation, b: Observation, min_pixels: int = 16) -> StepDiff:
    """Pixel difference at full resolution (a counter's digit must count as change; the
    browser hides the caret in screenshots) plus the page identity. More than
    ``min_pixels`` changed pixels, or another page, is ``changed``."""
    page = (a.url, a.title, a.app) != (b.url, b.title, b.app)
    if a.size != b.size:
        w, h = b.size
        return StepDiff(True, w * h, 1.0, (0, 0, w, h), True)
    x, y = a.array, b.array
    h, w = x.shape[:2]
    raw = (x != y).any(axis=2)  # any difference at all: a cheap byte compare first
    rows, cols = np.flatnonzero(raw.any(axis=1)), np.flatnonzero(raw.any(axis=0))
    if not len(rows):
        return StepDiff(page, 0, 0.0, None, page)
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    xs, ys = x[y0:y1, x0:x1].astype(np.int16), y[y0:y1, x0:x1].astype(np.int16)
    mask = np.abs(xs - ys).max(axis=2) > CHANNEL_DELTA  # only inside the differing box
    n = int(np.count_nonzero(mask))
    region = None
    if n:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        region = (
            x0 + int(cols[0]),
            y0 + int(rows[0]),
            x0 + int(cols[-1]) + 1,
            y0 + int(rows[-1]) + 1,
        )
    return StepDiff(n > min_pixels or page, n, n / float(w * h), region, page)


def screen_changed(a: Observation, b: Observation, min_pixels: int) -> bool:
    """Did the screen change (more than ``min_pixels`` pixels, or another page)?"""
    return diff_step(a, b, min_pixels).changed


def same_action(a: Action, b: Action, tol: float = 5.0) -> bool:
    """The same action, points within ``tol`` px (the no-progress rule's test)."""
    da, db = dump_action(a), dump_action(b)
    for d in (da, db):
        d.pop("box", None)
        d.pop("target", None)
    pa, pb = da.pop("point", None), db.pop("point", None)
    if da != db:
        return False
    if pa is None or pb is None:
        return pa == pb
    return abs(pa[0] - pb[0]) <= tol and abs(pa[1] - pb[1]) <= tol


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.lower().split())
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def action_key(action: Action, bucket: float = POINT_BUCKET) -> str:
    """A normalised action hash: points bucketed, text normalised, boxes and thoughts
    dropped (a described target keeps its description: that is what the model chose)."""
    d = dump_action(action)
    d.pop("box", None)
    for k in ("point", "start", "end"):
        p = d.get(k)
        if isinstance(p, list) and len(p) == 2:
            d[k] = [int(p[0] // bucket), int(p[1] // bucket)]
    text = json.dumps(_norm(d), sort_keys=True, ensure_ascii=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


class Pages:
    """Page fingerprints: the URL when the env has one; else screens are grouped by a
    thumbnail of :data:`THUMB` × :data:`THUMB` sampled pixels, a screen joining the first
    remembered page whose thumbnail differs in at most :data:`PAGE_TOLERANCE` of its samples
    (a counter's digit or a caret leaves it on its page; another view, or content scrolled
    under the samples, does not)."""

    def __init__(self) -> None:
        self._thumbs: list[tuple[str, np.ndarray]] = []

    def key(self, obs: Observation) -> str:
        if obs.url:
            return "url:" + hashlib.sha1(obs.url.encode()).hexdigest()[:12]
        ident = f"{obs.app or ''}|{obs.size}"
        arr = obs.array
        h, w = arr.shape[:2]
        ys, xs = np.linspace(0, h - 1, THUMB).astype(int), np.linspace(0, w - 1, THUMB).astype(int)
        thumb = arr[np.ix_(ys, xs)].astype(np.int16).max(axis=2)  # sampled, not averaged
        for n, (other_ident, other) in enumerate(self._thumbs):
            if other_ident == ident:
                moved = np.count_nonzero(np.abs(thumb - other) > CHANNEL_DELTA) / thumb.size
                if moved <= PAGE_TOLERANCE:
                    return f"px:{n}"
        self._thumbs.append((ident, thumb))
        return f"px:{len(self._thumbs) - 1}"


def describe_action(action: Action) -> str:
    """A short human name for the nudge (``click (412, 96)``, ``type "BOS"``)."""
    d = dump_action(action)
    parts = [str(d.get("type"))]
    p = d.get("point")
    if isinstance(p, list) and len(p) == 2:
        parts.append(f"({p[0]:.0f}, {p[1]:.0f})")
    for k in ("target", "text", "keys", "url", "direction"):
        if d.get(k):
            parts.append(json.dumps(d[k], ensure_ascii=False)[:60])
    return " ".join(parts)


def parse_counts(text: str | Sequence[int], what: str = "--loop-nudges") -> tuple[int, ...]:
    """``"5,8,12"`` (or a list) → ascending positive counts; ``""`` / ``"off"`` → none."""
    if isinstance(text, str):
        raw = [] if text.strip().lower() in ("", "off", "none") else text.split(",")
        try:
            counts = [int(s) for s in raw]
        except ValueError as err:
            raise ConfigError(
                f"{what} takes comma-separated whole numbers such as 5,8,12 (or 'off'), "
                f"not {text!r}"
            ) from err
    else:
        counts = [int(c) for c in text]
    if any(c < 2 for c in counts):
        raise ConfigError(f"{what}: each repeat count must be ≥ 2 (got {counts})")
    return tuple(sorted(set(counts)))


@dataclass
class Verdict:
    """The guard's decision after one step."""

    feedback: str | None = None
    stop: str | None = None  # "loop" | "no_progress"
    reason: str | None = None
    record: dict[str, Any] = field(default_factory=dict)


class LoopGuard:
    """Model-free loop recovery (see the module doc). One per episode."""

    def __init__(
        self,
        *,
        nudges: Sequence[int] = DEFAULT_NUDGES,
        stop: int | None = None,
        stagnation: int = DEFAULT_STAGNATION,
        no_progress_k: int = 3,
        change_pixels: int = 16,
    ) -> None:
        self.nudges = parse_counts(nudges)
        if stop is not None and stop < 2:
            raise ConfigError(f"--loop-stop: a repeat count ≥ 2, or 0 for off (got {stop})")
        if stagnation < 0:
            raise ConfigError(f"--stagnation must be ≥ 0 (0 = off), got {stagnation}")
        self.stop, self.stagnation = stop, stagnation
        self.no_progress_k, self.change_pixels = no_progress_k, change_pixels
        self.pages = Pages()
        self._recent: deque[tuple[str, str]] = deque(maxlen=WINDOW)
        self._still = 0  # steps in a row without a change
        self._prev: tuple[Action, Observation] | None = None
        self._repeats = 0
        self._reprompted = False

    def after_step(
        self, before: Observation, actions: Sequence[Action], after: Observation
    ) -> Verdict:
        """Check the step that ran ``actions`` on ``before`` and left ``after``."""
        diff = diff_step(before, after, self.change_pixels)
        v = Verdict(record={"check": diff.record()})
        if not actions:
            return v
        guard: dict[str, Any] = {}
        notes: list[str] = []
        last = actions[-1]
        pair = (action_key(last), self.pages.key(before))
        self._recent.append(pair)
        count = Counter(self._recent)[pair]
        guard["action"], guard["page"], guard["repeats"] = pair[0], pair[1], count
        name = describe_action(last)
        if count in self.nudges:
            guard.setdefault("nudges", []).append(f"repeat_{count}")
            notes.append(
                f"You have now done {name} {count} times on this same page. It is not "
                f"working: do something different (another element, scroll, go back), or "
                f"finish if the task cannot be done."
            )
        if self.stop is not None and count >= self.stop:
            v.stop, v.reason = "loop", f"{name} repeated {count} times on the same page"
        self._still = 0 if diff.changed else self._still + 1
        guard["unchanged_steps"] = self._still
        if self.stagnation and self._still and self._still % self.stagnation == 0:
            guard.setdefault("nudges", []).append(f"stagnation_{self._still}")
            notes.append(
                f"The screen has not changed for {self._still} steps. Try a different "
                f"approach, or finish if the task cannot be done."
            )
        self._no_progress(actions, after, v)
        if v.feedback:
            notes.append(v.feedback)
        v.feedback = " ".join(notes) or None
        v.record["guard"] = guard
        return v

    def _no_progress(self, actions: Sequence[Action], after: Observation, v: Verdict) -> None:
        """The same single action on an unchanged screen K times → re-prompt, then stop."""
        if len(actions) == 1 and self._prev is not None:
            if same_action(actions[0], self._prev[0]) and not screen_changed(
                self._prev[1], after, self.change_pixels
            ):
                self._repeats += 1
            else:
                self._repeats = 0
            if self._repeats + 1 >= self.no_progress_k:
                if self._reprompted:
                    v.stop = v.stop or "no_progress"
                    v.reason = v.reason or "the same action kept leaving the screen unchanged"
                else:
                    self._reprompted, self._repeats = True, 0
                    v.feedback = (
                        "Your last actions did not change the screen. Do not repeat "
                        "them; try a different action or finish."
                    )
                    v.record["no_progress_reprompt"] = True
        self._prev = (actions[-1], after)
