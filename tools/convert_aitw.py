"""Convert Android in the Wild (AITW) examples (GZIP'd TFRecord, one ``tf.train.Example``
per step) into our episode format.

    python tools/convert_aitw.py FILE [FILE ...] --out runs/aitw [--limit N]

Input schema (google-research/android_in_the_wild README): ``episode_id``, ``step_id``,
``goal_info``, ``image/encoded`` (raw uint8 pixels, H×W×C), ``image/height|width|channels``,
``image/ui_annotations_positions`` (normalised (y, x, h, w) boxes, flattened),
``results/action_type`` (3 TYPE, 4 DUAL_POINT, 5 PRESS_BACK, 6 PRESS_HOME, 7 PRESS_ENTER,
10 STATUS_TASK_COMPLETE, 11 STATUS_TASK_IMPOSSIBLE), ``results/yx_touch`` /
``results/yx_lift`` (normalised (y, x)), ``results/type_action``.

Mapping: a dual point whose touch and lift are within 0.04 (normalised) is a tap → click at
the touch point, else a swipe touch → lift; TYPE → type (into the focused field); back /
home / enter / finish(success|failure). Points become screenshot px (x·W, y·H). Gold, as
AITW's action matching: the annotation boxes (enlarged by AITW's 1.4 factors) that contain
the gold tap, any-of, plus ``distance_threshold`` 0.14.
"""

from __future__ import annotations

import io
import math
import sys
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agent.core.errors import ConfigError
from agent.evaluation.gold import GoldStep, converter_main, gold_entry, write_gold_episode
from agent.evaluation.tfrecord import parse_example, read_records

TAP_DISTANCE = 0.14
SWIPE_DISTANCE = 0.04
AUGMENT = 1.4  # AITW enlarges annotation boxes by this fraction of their width / height
ACTIONS = {3: "type", 4: "dual_point", 5: "back", 6: "home", 7: "enter", 10: "complete",
           11: "impossible"}  # fmt: skip


def read_steps(path: str | Path) -> list[dict[str, Any]]:
    return [parse_example(r) for r in read_records(path)]


def _png(ex: dict[str, Any]) -> tuple[bytes, int, int]:
    h, w = int(ex["image/height"][0]), int(ex["image/width"][0])
    c = int(ex["image/channels"][0])
    pixels = np.frombuffer(ex["image/encoded"][0], np.uint8)
    if pixels.size != h * w * c:
        raise ConfigError(f"image/encoded holds {pixels.size} bytes, not {h}x{w}x{c}")
    img = Image.fromarray(pixels.reshape(h, w, c)[..., :3] if c >= 3 else pixels.reshape(h, w))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG")
    return buf.getvalue(), w, h


def annotation_boxes(ex: dict[str, Any], w: int, h: int) -> list[list[float]]:
    """AITW's enlarged annotation boxes, in screenshot px (x1, y1, x2, y2)."""
    flat = ex.get("image/ui_annotations_positions", [])
    out = []
    for k in range(0, len(flat) - 3, 4):
        y, x, bh, bw = flat[k : k + 4]
        dh, dw = AUGMENT * bh, AUGMENT * bw
        top, left = max(0.0, y - dh / 2), max(0.0, x - dw / 2)
        bh, bw = min(1.0, bh + dh), min(1.0, bw + dw)
        out.append([left * w, top * h, (left + bw) * w, (top + bh) * h])
    return out


def to_gold(ex: dict[str, Any], w: int, h: int) -> dict[str, Any]:
    code = int(ex["results/action_type"][0])
    kind = ACTIONS.get(code)
    if kind is None:
        raise ConfigError(f"unknown AITW action_type {code}")
    if kind == "dual_point":
        ty, tx = ex["results/yx_touch"][:2]
        ly, lx = ex["results/yx_lift"][:2]
        # float32 in the file: round to 1/100 px
        touch = [round(tx * w, 2), round(ty * h, 2)]
        lift = [round(lx * w, 2), round(ly * h, 2)]
        if math.hypot(ty - ly, tx - lx) <= SWIPE_DISTANCE:
            boxes = [
                b
                for b in annotation_boxes(ex, w, h)
                if b[0] <= touch[0] <= b[2] and b[1] <= touch[1] <= b[3]
            ]
            return gold_entry(
                {"type": "click", "point": touch},
                boxes=boxes,
                distance_threshold=TAP_DISTANCE,
                source="aitw",
                action_type=code,
            )
        action = {"type": "swipe", "start": touch, "end": lift}
    elif kind == "type":
        text = ex.get("results/type_action", [b""])[0].decode("utf-8")
        action = {"type": "type", "text": text}
    elif kind == "enter":
        action = {"type": "key", "keys": "enter"}
    elif kind in ("back", "home"):
        action = {"type": kind}
    else:
        action = {"type": "finish", "status": "success" if kind == "complete" else "failure"}
    return gold_entry(action, source="aitw", action_type=code)


def convert(paths: list[str | Path], out: str | Path, limit: int | None = None) -> list[Path]:
    episodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in paths:
        for ex in read_steps(path):
            episodes[ex["episode_id"][0].decode("utf-8")].append(ex)
    done: list[Path] = []
    for eid, exs in episodes.items():
        if limit is not None and len(done) >= limit:
            break
        exs.sort(key=lambda e: int(e["step_id"][0]))
        try:
            steps = []
            for ex in exs:
                png, w, h = _png(ex)
                steps.append(GoldStep(png, to_gold(ex, w, h), extra={"step_id": ex["step_id"][0]}))
        except (ConfigError, KeyError, IndexError, ValueError) as err:
            warnings.warn(f"AITW episode {eid}: skipped ({err})", stacklevel=2)
            continue
        first = exs[0]
        meta = {
            "task": {"goal": first["goal_info"][0].decode("utf-8"), "id": f"aitw/{eid}"},
            "env": {"name": "android", "spec": {}, "url": None},
            "model": {"name": "human", "format": "json"},
            "dataset": {
                "name": "aitw",
                "episode_id": eid,
                "device_type": (first.get("device_type") or [b""])[0].decode("utf-8"),
                "android_api_level": (first.get("android_api_level") or [None])[0],
            },
        }
        done.append(write_gold_episode(Path(out) / f"aitw-{eid}", meta, steps))
    return done


def main(argv: list[str] | None = None) -> int:
    return converter_main(__doc__, "runs/aitw", lambda a: convert(a.files, a.out, a.limit), argv)


if __name__ == "__main__":
    sys.exit(main())
