"""Step-level action matching, following the Mind2Web / AITW / AndroidControl conventions.

A prediction (the model's first action of the turn) is compared with the step's **gold**:
the step line's ``gold`` when present, else the action the recording executed (its ``box``,
if any, is the gold box). All points and boxes are screenshot px.

Definitions (per step; the aggregate is the mean over the steps where it applies):

* **action-type accuracy**: predicted ``type`` == gold ``type`` (all steps; an
  unparseable output counts as wrong).
* **element accuracy** (gold actions that point: click-like, long press, ``type`` with a
  point or box, drag start): the predicted point lies inside a gold box (edges inclusive;
  ``gold.boxes`` is any-of, as Mind2Web's positive candidates), **or** its distance to the
  gold point, as a fraction of the screen (x/W, y/H, Euclidean), is ≤ the gold's
  ``distance_threshold``. Without any gold box the threshold defaults to 0.14 — AITW's
  tap rule. Element accuracy is scored independently of the action type, as in Mind2Web.
* **point distance**: Euclidean px between the predicted and the gold point (the gold
  action's point, else its box centre), over steps where both exist; mean and median.
* **typed text** (gold ``type`` actions): *exact match* after collapsing whitespace
  (case-sensitive); *token F1*: SQuAD-style bag-of-words F1 over lower-cased ``\\w+``
  tokens (both empty → 1).
* **step success**: type match, and the checks :data:`SCORING` lists for the gold type —
  pointing: element match; ``type``: text exact or F1 ≥ 0.5, plus element match when the
  gold has a point or box; ``scroll``: same direction; ``drag``: element match of the start
  and the same dominant direction (axis and sign); ``swipe``: the same dominant direction
  (AITW compares the axis only); ``key``: same normalised keys; ``navigate``: same URL
  (trailing slash ignored); ``open_app``: same name (case-insensitive); ``finish``: same
  status; ``wait`` / ``back`` / ``home`` / ``call_user`` / ``zoom`` (and a gold type the table does
  not know): the type alone. Every action type has an entry (an empty one says "the type
  alone"), checked against the action union by ``tests/agent/core/test_action_union.py``.
* **episode success**: every scored step of the episode succeeded.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from agent.core.actions import normalize_keys
from agent.episode.steps import ActionRecord, anchor

TAP_DISTANCE = 0.14  # AITW: a tap within 14% of the screen matches
TEXT_F1_MIN = 0.5
_TOKEN = re.compile(r"\w+", re.UNICODE)


class Check(StrEnum):
    """One check of a step beyond the type match (definitions in the module docstring)."""

    ELEMENT = "element"  # the predicted point hits the gold element
    ELEMENT_IF_GROUNDED = "element_if_grounded"  # ELEMENT when the gold has a point or box
    TEXT = "text"  # typed text: exact, or token F1 >= TEXT_F1_MIN
    DIRECTION = "direction"  # the same (dominant) direction
    KEYS = "keys"  # the same normalised keys
    URL = "url"  # the same URL, trailing slash ignored
    APP = "app"  # the same app name, case-insensitive
    STATUS = "status"  # the same finish status


_POINTING = (Check.ELEMENT,)
# How each action type is scored as a gold; an empty tuple: the type alone.
SCORING: dict[str, tuple[Check, ...]] = {
    "click": _POINTING,
    "double_click": _POINTING,
    "right_click": _POINTING,
    "middle_click": _POINTING,
    "hover": _POINTING,
    "long_press": _POINTING,
    "drag": (Check.ELEMENT, Check.DIRECTION),  # the start is the element
    "swipe": (Check.DIRECTION,),
    "type": (Check.ELEMENT_IF_GROUNDED, Check.TEXT),
    "key": (Check.KEYS,),
    "scroll": (Check.DIRECTION,),
    "wait": (),
    "navigate": (Check.URL,),
    "back": (),
    "home": (),
    "open_app": (Check.APP,),
    "zoom": (),  # an observation action: the type alone (its region is where it looked)
    "finish": (Check.STATUS,),
    "call_user": (),
}


def executed(step: dict[str, Any]) -> list[dict[str, Any]]:
    """Actions the recording executed, as :mod:`agent.episode.steps` defines it."""
    records = (ActionRecord.from_json(r) for r in step.get("actions") or [])
    return [r.action for r in records if r.ran]


def gold_of(step: dict[str, Any]) -> dict[str, Any] | None:
    """The step's gold as ``{"action", "boxes", "distance_threshold", "source"}``, or None."""
    g = step.get("gold")
    if isinstance(g, dict) and isinstance(g.get("action"), dict):
        boxes = g.get("boxes") or ([g["box"]] if g.get("box") else [])
        return {
            "action": g["action"],
            "boxes": [list(map(float, b)) for b in boxes],
            "distance_threshold": g.get("distance_threshold"),
            "source": g.get("source", "gold"),
        }
    acts = executed(step)
    if not acts:
        return None
    a = acts[0]
    return {
        "action": a,
        "boxes": [list(map(float, a["box"]))] if a.get("box") else [],
        "distance_threshold": None,
        "source": "recorded",
    }


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall((text or "").lower())


def token_f1(pred: str | None, gold: str | None) -> float:
    p, g = tokens(pred), tokens(gold)
    if not p and not g:
        return 1.0
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def _ws(text: str | None) -> str:
    return " ".join((text or "").split())


def points_at_element(gold: dict[str, Any]) -> bool:
    a = gold["action"]
    checks = SCORING.get(a["type"], ())
    if Check.ELEMENT in checks:
        return True
    grounded = a.get("point") is not None or bool(gold["boxes"])
    return Check.ELEMENT_IF_GROUNDED in checks and grounded


def _inside(p: tuple[float, float], box: list[float]) -> bool:
    return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]


def element_match(
    pred: dict[str, Any] | None, gold: dict[str, Any], screen: tuple[int, int]
) -> tuple[bool, float | None]:
    """(inside a gold box or within the distance threshold, distance in px or None)."""
    p, g = anchor(pred), anchor(gold["action"])
    if g is None and gold["boxes"]:
        x1, y1, x2, y2 = gold["boxes"][0]
        g = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    if p is None:
        return False, None
    dist = math.hypot(p[0] - g[0], p[1] - g[1]) if g is not None else None
    if any(_inside(p, b) for b in gold["boxes"]):
        return True, dist
    threshold = gold.get("distance_threshold")
    if threshold is None and not gold["boxes"]:
        threshold = TAP_DISTANCE
    if threshold is None or g is None:
        return False, dist
    w, h = screen
    norm = math.hypot((p[0] - g[0]) / w, (p[1] - g[1]) / h)
    return norm <= threshold, dist


def _direction(a: dict[str, Any]) -> str | None:
    if a.get("direction"):
        return str(a["direction"])
    if a.get("start") is None or a.get("end") is None:
        return None
    dx, dy = a["end"][0] - a["start"][0], a["end"][1] - a["start"][1]
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def _keys(k: str | None) -> str | None:
    try:
        return normalize_keys(k or "")
    except ValueError:
        return None


def _arg_check(check: Check, pred: dict[str, Any], gold: dict[str, Any]) -> bool | None:
    """One argument check (None: ``check`` is not about arguments)."""
    if check is Check.DIRECTION:
        return _direction(pred) == _direction(gold)
    if check is Check.KEYS:
        return _keys(pred.get("keys")) == _keys(gold.get("keys"))
    if check is Check.URL:
        return str(pred.get("url", "")).rstrip("/") == str(gold.get("url", "")).rstrip("/")
    if check is Check.APP:
        return str(pred.get("name", "")).casefold() == str(gold.get("name", "")).casefold()
    if check is Check.STATUS:
        return pred.get("status", "success") == gold.get("status", "success")
    return None


def _args_match(pred: dict[str, Any], gold: dict[str, Any]) -> bool | None:
    found = [_arg_check(c, pred, gold) for c in SCORING.get(gold["type"], ())]
    results = [r for r in found if r is not None]
    return all(results) if results else None


@dataclass
class StepScore:
    episode: str
    index: int
    gold: dict[str, Any]
    pred: dict[str, Any] | None
    type_match: bool
    element_match: bool | None = None
    distance_px: float | None = None
    text_exact: bool | None = None
    text_f1: float | None = None
    args_match: bool | None = None
    success: bool = False
    parse_error: str | None = None
    raw: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def score_step(
    pred: dict[str, Any] | None,
    gold: dict[str, Any],
    screen: tuple[int, int],
    *,
    episode: str = "",
    index: int = 0,
) -> StepScore:
    """Score one prediction against one gold (definitions in the module docstring)."""
    g = gold["action"]
    matched = pred is not None and bool(pred) and pred["type"] == g["type"]
    s = StepScore(episode, index, gold, pred, type_match=matched)
    ok = s.type_match
    if points_at_element(gold):
        s.element_match, dist = element_match(pred, gold, screen)
        s.distance_px = None if dist is None else round(dist, 2)
        ok = ok and s.element_match
    if Check.TEXT in SCORING.get(g["type"], ()):
        ptext = pred.get("text") if pred else None
        s.text_exact = pred is not None and _ws(ptext) == _ws(g.get("text"))
        s.text_f1 = round(token_f1(ptext, g.get("text")), 4) if pred is not None else 0.0
        ok = ok and (s.text_exact or s.text_f1 >= TEXT_F1_MIN)
    if pred is not None and s.type_match:
        s.args_match = _args_match(pred, g)
        if s.args_match is False:
            ok = False
    s.success = bool(ok)
    return s


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def aggregate(scores: list[StepScore]) -> dict[str, Any]:
    """Every metric of the module docstring, plus counts and a per-gold-type breakdown."""
    episodes: dict[str, list[StepScore]] = {}
    for s in scores:
        episodes.setdefault(s.episode, []).append(s)
    elem = [float(bool(s.element_match)) for s in scores if s.element_match is not None]
    dist = [s.distance_px for s in scores if s.distance_px is not None]
    typed = [s for s in scores if s.text_f1 is not None]
    by_type: dict[str, dict[str, Any]] = {}
    for s in scores:
        t = by_type.setdefault(s.gold["action"]["type"], {"steps": 0, "type_ok": 0, "ok": 0})
        t["steps"] += 1
        t["type_ok"] += int(s.type_match)
        t["ok"] += int(s.success)
    return {
        "steps": len(scores),
        "episodes": len(episodes),
        "action_type_accuracy": _mean([float(s.type_match) for s in scores]),
        "element_accuracy": _mean(elem),
        "element_steps": len(elem),
        "point_distance_px": {
            "mean": _mean(dist),
            "median": round(statistics.median(dist), 2) if dist else None,
            "steps": len(dist),
        },
        "text_exact_match": _mean([float(bool(s.text_exact)) for s in typed]),
        "text_f1": _mean([float(s.text_f1 or 0.0) for s in typed]),
        "text_steps": len(typed),
        "step_success_rate": _mean([float(s.success) for s in scores]),
        "episode_success_rate": _mean(
            [float(all(s.success for s in ss)) for ss in episodes.values()]
        ),
        "parse_error_rate": _mean([float(s.parse_error is not None) for s in scores]),
        "by_gold_type": {
            k: {**v, "type_accuracy": v["type_ok"] / v["steps"], "success_rate": v["ok"] / n}
            for k, v in sorted(by_type.items())
            for n in (v["steps"],)
        },
    }
