"""Convert AndroidControl episodes (GZIP'd TFRecord of ``tf.train.Example``) into our
episode format, with gold boxes from the accessibility trees.

    python tools/convert_androidcontrol.py FILE [FILE ...] --out runs/androidcontrol
                                           [--limit N]

Input schema (google-research/android_control README): ``episode_id`` (int), ``goal``,
``screenshots`` (PNG bytes, one more than actions), ``accessibility_trees`` (serialized
``android_env`` AndroidAccessibilityForest), ``screenshot_widths`` / ``_heights``,
``actions`` (JSON: ``action_type`` + ``x``/``y`` in absolute screen px, ``text``,
``direction``, ``app_name``), ``step_instructions``.

Mapping (screenshot px = device px, no scaling): click → click; long_press → long_press;
type → type at (x, y) then enter; input_text → type (into the focused field); scroll →
scroll ``direction``; open_app → open_app; navigate_home → home; navigate_back → back;
wait → wait. The gold box of a pointing action is the smallest visible node whose bounds
contain the point, interactive nodes (clickable, long-clickable, editable, checkable)
preferred; without one, the 14 %-of-the-screen rule applies. Each step line keeps its
``instruction`` (the low-level step instruction) and the original action.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.evaluation.gold import GoldStep, converter_main, gold_entry, write_gold_episode
from agent.evaluation.tfrecord import parse_example, parse_forest, read_records

INTERACTIVE = ("is_clickable", "is_long_clickable", "is_editable", "is_checkable")


def read_episodes(path: str | Path) -> Iterator[dict[str, Any]]:
    for record in read_records(path):
        ex = parse_example(record)
        yield {
            "episode_id": int(ex["episode_id"][0]),
            "goal": ex["goal"][0].decode("utf-8"),
            "screenshots": ex["screenshots"],
            "trees": ex.get("accessibility_trees", []),
            "widths": ex.get("screenshot_widths", []),
            "heights": ex.get("screenshot_heights", []),
            "actions": [json.loads(a) for a in ex["actions"]],
            "instructions": [s.decode("utf-8") for s in ex.get("step_instructions", [])],
        }


def element_box(nodes: list[dict[str, Any]], x: float, y: float) -> list[float] | None:
    """The smallest visible node containing (x, y), interactive nodes first."""
    hits = [
        n
        for n in nodes
        if n["bounds"]
        and n["is_visible_to_user"]
        and n["bounds"][0] <= x <= n["bounds"][2]
        and n["bounds"][1] <= y <= n["bounds"][3]
        and n["bounds"][2] > n["bounds"][0]
        and n["bounds"][3] > n["bounds"][1]
    ]
    if not hits:
        return None
    pool = [n for n in hits if any(n[k] for k in INTERACTIVE)] or hits

    def area(n: dict[str, Any]) -> float:
        left, top, right, bottom = n["bounds"]
        return (right - left) * (bottom - top)

    best = min(pool, key=lambda n: (area(n), -n["layer"], -n["depth"]))
    return [float(v) for v in best["bounds"]]


def to_action(a: dict[str, Any]) -> dict[str, Any]:
    t = a.get("action_type")
    point = [float(a["x"]), float(a["y"])] if "x" in a and "y" in a else None
    if t in ("click", "long_press"):
        return {"type": t, "point": point}
    if t == "type":
        return {"type": "type", "text": a.get("text", ""), "point": point, "enter": True}
    if t == "input_text":
        return {"type": "type", "text": a.get("text", "")}
    if t == "scroll":
        return {"type": "scroll", "direction": a["direction"]}
    if t == "open_app":
        return {"type": "open_app", "name": a["app_name"]}
    if t == "navigate_home":
        return {"type": "home"}
    if t == "navigate_back":
        return {"type": "back"}
    if t == "wait":
        return {"type": "wait", "seconds": 1.0}
    raise ConfigError(f"unknown AndroidControl action_type {t!r}")


def convert_episode(ep: dict[str, Any], out: Path, source: str) -> Path:
    steps = []
    for i, raw in enumerate(ep["actions"]):
        action = {k: v for k, v in to_action(raw).items() if v is not None}
        boxes = []
        if action.get("point") and i < len(ep["trees"]):
            box = element_box(parse_forest(ep["trees"][i]), *action["point"])
            boxes = [box] if box else []
        instruction = ep["instructions"][i] if i < len(ep["instructions"]) else None
        gold = gold_entry(action, boxes=boxes, source="androidcontrol", original=raw)
        steps.append(GoldStep(ep["screenshots"][i], gold, extra={"instruction": instruction}))
    meta = {
        "task": {"goal": ep["goal"], "id": f"androidcontrol/{ep['episode_id']}"},
        "env": {"name": "android", "spec": {}, "url": None},
        "model": {"name": "human", "format": "json"},
        "dataset": {"name": "androidcontrol", "file": source, "episode_id": ep["episode_id"]},
        "step_instructions": ep["instructions"],
    }
    return write_gold_episode(out / f"androidcontrol-{ep['episode_id']}", meta, steps)


def convert(paths: list[str | Path], out: str | Path, limit: int | None = None) -> list[Path]:
    done: list[Path] = []
    for path in paths:
        for ep in read_episodes(path):
            if limit is not None and len(done) >= limit:
                return done
            try:
                done.append(convert_episode(ep, Path(out), str(path)))
            except (ConfigError, KeyError, IndexError) as err:
                warnings.warn(f"episode {ep['episode_id']}: skipped ({err})", stacklevel=2)
    return done


def main(argv: list[str] | None = None) -> int:
    out = "runs/androidcontrol"
    return converter_main(__doc__, out, lambda a: convert(a.files, a.out, a.limit), argv)


if __name__ == "__main__":
    sys.exit(main())
