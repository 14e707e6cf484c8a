"""Convert Mind2Web tasks into our episode format, with the positive candidates' boxes as
gold.

    python tools/convert_mind2web.py TASKS.json [...] --screenshots DIR --out runs/mind2web
                                     [--dsf 1] [--limit N]

Input schema (Mind2Web ``data/*/*.json``: a list of tasks): ``annotation_id``,
``website``, ``domain``, ``confirmed_task``, ``action_reprs``, ``actions`` — each with
``action_uid``, ``operation`` ``{op: CLICK|TYPE|SELECT, original_op, value}`` and
``pos_candidates`` (``attributes`` is a JSON string holding ``bounding_box_rect``
``"x,y,w,h"`` in CSS px of the page). Mind2Web ships screenshots separately (the raw dump /
Multimodal-Mind2Web); give them as ``DIR/<annotation_id>/<action_uid>.png|jpg`` or
``DIR/<action_uid>.png|jpg``. A step without a screenshot is skipped with a warning.

Mapping: CSS px → screenshot px through agent.core.coords with the device scale factor
``--dsf`` (1 for Mind2Web's screenshots). CLICK → click at the centre of the first positive
candidate; TYPE → type ``value`` there; SELECT → type ``value`` there (our schema has no
select: typing an option's label into a focused ``<select>`` picks it), with ``op`` kept in
the gold. Gold boxes: every positive candidate (any-of).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from PIL import Image

from agent.core.coords import Frame, input_to_screen
from agent.core.errors import ConfigError
from agent.evaluation.gold import GoldStep, converter_main, gold_entry, write_gold_episode

IMAGE_EXTS = (".png", ".jpg", ".jpeg")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def candidate_rect(candidate: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) CSS px from ``bounding_box_rect`` "x,y,w,h"."""
    attrs = _json(candidate.get("attributes") or {})
    raw = attrs.get("bounding_box_rect") if isinstance(attrs, dict) else None
    if not raw:
        return None
    x, y, w, h = (float(v) for v in str(raw).split(","))
    if w <= 0 or h <= 0:
        return None
    return x, y, x + w, y + h


def find_screenshot(root: Path, annotation_id: str, action_uid: str) -> Path | None:
    for base in (root / annotation_id, root):
        for ext in IMAGE_EXTS:
            p = base / f"{action_uid}{ext}"
            if p.exists():
                return p
    return None


def _png(path: Path) -> tuple[bytes, int, int]:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        buf = io.BytesIO()
        rgb.save(buf, format="PNG")
        return buf.getvalue(), rgb.width, rgb.height


def to_gold(act: dict[str, Any], frame: Frame, action_repr: str | None) -> dict[str, Any]:
    op = _json(act["operation"])
    rects = [r for r in (candidate_rect(c) for c in act.get("pos_candidates", [])) if r]
    if not rects:
        raise ConfigError(f"action {act.get('action_uid')} has no positive candidate box")
    boxes = []
    for left, top, right, bottom in rects:
        x1, y1 = input_to_screen(frame, left, top)
        x2, y2 = input_to_screen(frame, right, bottom)
        boxes.append([x1, y1, x2, y2])
    left, top, right, bottom = rects[0]
    point = list(input_to_screen(frame, (left + right) / 2, (top + bottom) / 2))
    kind = str(op.get("op", "")).upper()
    if kind == "CLICK":
        action: dict[str, Any] = {"type": "click", "point": point}
    elif kind in ("TYPE", "SELECT"):
        action = {"type": "type", "text": str(op.get("value", "")), "point": point}
    else:
        raise ConfigError(f"unknown Mind2Web op {kind!r}")
    return gold_entry(
        action,
        boxes=boxes,
        source="mind2web",
        op=kind,
        original_op=op.get("original_op"),
        action_repr=action_repr,
    )


def convert_task(task: dict[str, Any], shots: Path, out: Path, dsf: float) -> Path | None:
    aid = task["annotation_id"]
    reprs = task.get("action_reprs") or []
    steps = []
    for i, act in enumerate(task["actions"]):
        path = find_screenshot(shots, aid, act["action_uid"])
        if path is None:
            warnings.warn(f"{aid} step {i}: no screenshot for {act['action_uid']}", stacklevel=2)
            continue
        png, w, h = _png(path)
        frame = Frame.for_screen(w, h, convention="screen", scale=dsf)
        gold = to_gold(act, frame, reprs[i] if i < len(reprs) else None)
        steps.append(GoldStep(png, gold, scale=dsf, extra={"action_uid": act["action_uid"]}))
    if not steps:
        return None
    meta = {
        "task": {"goal": task["confirmed_task"], "id": f"mind2web/{aid}"},
        "env": {"name": "browser", "spec": {"dsf": dsf}, "url": None},
        "model": {"name": "human", "format": "json"},
        "dataset": {
            "name": "mind2web",
            "annotation_id": aid,
            **{k: task.get(k) for k in ("website", "domain", "subdomain")},
        },
    }
    return write_gold_episode(out / f"mind2web-{aid}", meta, steps)


def convert(
    paths: list[str | Path],
    screenshots: str | Path,
    out: str | Path,
    *,
    dsf: float = 1.0,
    limit: int | None = None,
) -> list[Path]:
    done: list[Path] = []
    for path in paths:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
        for task in tasks if isinstance(tasks, list) else [tasks]:
            if limit is not None and len(done) >= limit:
                return done
            try:
                ep = convert_task(task, Path(screenshots), Path(out), dsf)
            except (ConfigError, KeyError, ValueError) as err:
                warnings.warn(f"task {task.get('annotation_id')}: skipped ({err})", stacklevel=2)
                continue
            if ep is not None:
                done.append(ep)
    return done


def main(argv: list[str] | None = None) -> int:
    def flags(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--screenshots", required=True)
        ap.add_argument("--dsf", type=float, default=1.0)

    return converter_main(
        __doc__,
        "runs/mind2web",
        lambda a: convert(a.files, a.screenshots, a.out, dsf=a.dsf, limit=a.limit),
        argv,
        flags,
    )


if __name__ == "__main__":
    sys.exit(main())
