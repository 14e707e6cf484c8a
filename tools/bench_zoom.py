"""Zoom off vs on: grounding hit rate and cost per ground on synthetic screens.

    python tools/bench_zoom.py [--trials 40] [--seed 0] [--json]
        [--sizes 1280x800,1920x1080,3840x2160,2560x1600@2]

Screens: grey clutter (random rectangles) at several sizes, 4K included (``WxH@DSF`` sets the
device scale), each trial with one target box of random CSS size (24–120 × 16–40 CSS px) at a
random place, edges included. The grounder is :class:`BlurryGrounder`, a **fake**: it finds
the target's pixels in the image it reads and answers their centre plus Gaussian noise whose
spread grows with that image's size (``rel`` × its diagonal) — the behaviour zoom is for, not
a model's accuracy. Modes: ``off``; ``always`` (crop 25 % of each side, snapped to the 28 grid);
``always x2`` (the crop upscaled); ``uncertain`` (k=3 samples, zoom when they disagree by
more than 16 CSS px).

Columns: ``hit`` (the final point inside the target box), ``zoomed`` (share of grounds that
made a second pass), ``calls`` and ``tokens`` per ground (grounder calls; image tokens read,
28-px cells — what a real grounder's time follows), ``ms`` (wall time per ground of the whole
pipeline with the fake: pixel search, crop, upscale).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.core.coords import FACTOR, image_tokens, padded_size
from agent.core.observation import Observation
from model.grounders.base import Box, Grounded, GroundingFailure
from model.grounders.zoom import ZoomGrounder

TARGET = np.array([255, 0, 255], dtype=np.uint8)  # no clutter pixel has this colour
DESCRIPTION = "the magenta button"


@dataclass
class BlurryGrounder:
    """A fake grounder whose error grows with the size of the image it reads: the target's
    pixel centre plus N(0, (rel × diagonal)²) noise per axis, clamped to the image. ``calls``
    records (region, image size) of every call; ``refuse_regions`` fails every call given a
    region (a second pass that fails)."""

    rel: float = 0.012
    seed: int = 0
    refuse_regions: bool = False
    name: str = "fake-blurry"
    calls: list[tuple[Box | None, tuple[int, int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def ground(
        self, observation: Observation, description: str, region: Box | None = None
    ) -> Grounded | GroundingFailure:
        img = observation.array
        x0 = y0 = 0
        if region is not None:
            x0, y0 = int(region[0]), int(region[1])
            img = img[y0 : int(region[3]), x0 : int(region[2])]
        h, w = img.shape[:2]
        self.calls.append((region, (w, h)))
        tokens = image_tokens(*padded_size(w, h))
        prompt = f"Where is {description}? ({w}x{h} image)"
        if self.refuse_regions and region is not None:
            return GroundingFailure(description, "refused (fake)", self.name, prompt, "none")
        ys, xs = np.nonzero(np.all(img == TARGET, axis=-1))
        if len(xs) == 0:
            return GroundingFailure(description, "not in the image", self.name, prompt, "none")
        sigma = self.rel * math.hypot(w, h)
        u = (xs.min() + xs.max() + 1) / 2 + self.rng.normal(0, sigma)
        v = (ys.min() + ys.max() + 1) / 2 + self.rng.normal(0, sigma)
        u, v = min(max(u, 0.0), w - 1.0), min(max(v, 0.0), h - 1.0)
        return Grounded(
            point=(x0 + u, y0 + v),
            description=description,
            grounder=self.name,
            prompt=prompt,
            raw=f"({u:.0f}, {v:.0f})",
            model_point=(u, v),
            crop=region,
            usage={"image_tokens": tokens},
        )


def clutter(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A grey screen with random darker and lighter rectangles (never the target colour)."""
    img = np.full((h, w, 3), 235, dtype=np.uint8)
    for _ in range(max(20, w * h // 40_000)):
        rw, rh = int(rng.integers(20, 300)), int(rng.integers(10, 80))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        img[y : y + rh, x : x + rw] = int(rng.integers(40, 220))
    return img


def place_target(
    base: np.ndarray, dsf: float, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``base`` with one target box (CSS size × DSF) somewhere, edges included: (img, box)."""
    h, w = base.shape[:2]
    bw, bh = round(rng.integers(24, 121) * dsf), round(rng.integers(16, 41) * dsf)
    x1, y1 = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
    img = base.copy()
    img[y1 : y1 + bh, x1 : x1 + bw] = TARGET
    return img, (x1, y1, x1 + bw, y1 + bh)


MODES: dict[str, dict[str, Any]] = {
    "off": {"mode": "off"},
    "always": {"mode": "always", "factor": FACTOR},
    "always x2": {"mode": "always", "factor": FACTOR, "upscale": True},
    "uncertain": {"mode": "uncertain", "factor": FACTOR, "k": 3},
}


def run(sizes: list[tuple[int, int, float]], trials: int, seed: int) -> list[dict[str, Any]]:
    rows = []
    for w, h, dsf in sizes:
        rng = np.random.default_rng(seed)
        base = clutter(w, h, rng)
        screens = [place_target(base, dsf, rng) for _ in range(trials)]
        for label, opts in MODES.items():
            hits = zoomed = calls = tokens = 0
            elapsed = 0.0
            for i, (img, (x1, y1, x2, y2)) in enumerate(screens):
                fake = BlurryGrounder(seed=seed * 100_003 + i)
                grounder = ZoomGrounder(fake, **opts)
                obs = Observation(array=img, scale=dsf)
                t0 = time.perf_counter()
                out = grounder.ground(obs, DESCRIPTION)
                elapsed += time.perf_counter() - t0
                calls += len(fake.calls)
                tokens += out.usage.get("image_tokens", 0)
                zoomed += bool(out.zoom and out.zoom.get("zoomed"))
                if isinstance(out, Grounded):
                    px, py = out.point
                    hits += x1 <= px <= x2 and y1 <= py <= y2
            rows.append(
                {
                    "screen": f"{w}x{h}",
                    "dsf": dsf,
                    "mode": label,
                    "hit": hits / trials,
                    "zoomed": zoomed / trials,
                    "calls": calls / trials,
                    "tokens": tokens / trials,
                    "ms": 1000 * elapsed / trials,
                }
            )
    return rows


def parse_sizes(text: str) -> list[tuple[int, int, float]]:
    out = []
    for item in text.split(","):
        dims, _, dsf = item.partition("@")
        w, _, h = dims.partition("x")
        out.append((int(w), int(h), float(dsf or 1)))
    return out


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| screen | DSF | zoom | hit | zoomed | calls | tokens | ms/ground |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['screen']} | {r['dsf']:g} | {r['mode']} | {r['hit']:.0%} | {r['zoomed']:.0%} "
            f"| {r['calls']:.1f} | {r['tokens']:.0f} | {r['ms']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", default="1280x800,1920x1080,3840x2160,2560x1600@2")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = run(parse_sizes(args.sizes), args.trials, args.seed)
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
