"""Per-step cost of the loop itself (model excluded) against the capture floor — the fastest
lossless screenshot plus its decode — measured in the same run, browser and page.

    python tools/bench_loop.py [--steps 30] [--viewport 1920x1080] [--site shop] [--json]

Floor: CDP ``Page.captureScreenshot`` (``optimizeForSpeed``, PNG) + decode to an RGB array,
taken once between every two loop steps, so floor and loop share the machine's load (on a
busy machine a floor measured before the loop is not comparable). Old baseline, for
reference: Playwright's ``page.screenshot`` + Pillow decode, measured before the loop.
Ours: the real :class:`agent.episode.loop.Loop` driving a BrowserEnv with a scripted model
(zero model time) that hovers over alternating points — every step masks, queues its PNG,
appends a steps.jsonl line, executes an action, settles and captures the next screen.
``ratio_to_floor`` = median loop step / median floor; the phases say where the rest goes.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agent.episode.loop import Loop, LoopConfig
from agent.episode.recording import EpisodeWriter
from envs.browser import BrowserEnv
from envs.browser.capture import PageCapture, decode_png
from model.scripted import ScriptedModel

WARMUP = 3


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1) if values else 0.0


def floor_sample(shots: PageCapture, page: Any) -> tuple[float, float]:
    """(capture + decode, capture) seconds of one fast lossless screenshot."""
    t0 = time.perf_counter()
    png = shots.grab(page, 10.0)
    t1 = time.perf_counter()
    decode_png(png)
    return time.perf_counter() - t0, t1 - t0


def playwright_baseline(env: BrowserEnv, n: int) -> list[float]:
    """Playwright's screenshot + Pillow decode (the path before issue 14), n times."""
    page, out = env.page, []
    for i in range(n + 1):
        t0 = time.perf_counter()
        with Image.open(io.BytesIO(page.screenshot(type="png", scale="device"))) as im:
            np.asarray(im.convert("RGB"))
        if i:
            out.append(time.perf_counter() - t0)
    return out


def loop_steps(env: BrowserEnv, steps: int) -> list[dict[str, float]]:
    """Per-step phases of a real loop run (seconds), warm-up steps dropped."""
    w, h = env.viewport
    points = [(w * env.dsf * 0.3, h * env.dsf * 0.6), (w * env.dsf * 0.7, h * env.dsf * 0.6)]
    outputs = [
        json.dumps({"type": "hover", "point": list(points[i % 2])}) for i in range(steps + WARMUP)
    ]
    rows: list[dict[str, float]] = []
    obs = env.reset()
    page, shots = env.page, PageCapture(env.viewport, env.dsf)
    with tempfile.TemporaryDirectory() as tmp:
        writer = EpisodeWriter(Path(tmp) / "ep", {"task": {"goal": "bench"}})

        def on_step(ev: Any) -> None:
            t = ev.timings  # the step line's phases: the env's own figures kept apart
            row = {
                "step": t["step_s"] - t.get("model_s", 0.0),
                "capture": t.get("capture_s", 0.0),
                "decode": t.get("decode_s", 0.0),
                "settle": t.get("settle_s", 0.0),
                "action": t.get("execute_s", 0.0),  # the env's step less its capture
            }
            env_s = row["capture"] + row["decode"] + row["settle"] + row["action"]
            row["loop"] = row["step"] - env_s  # mask, parse, gate, record
            row["floor"], row["floor_capture"] = floor_sample(shots, page)  # same load
            rows.append(row)

        loop = Loop(
            env,
            ScriptedModel(outputs),
            writer,
            config=LoopConfig(max_steps=steps + WARMUP, no_progress_k=10**6),
            on_step=on_step,
        )
        loop.run("bench", obs)
        writer.finish({"status": "bench"})
    return rows[WARMUP:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--viewport", default="1920x1080")
    ap.add_argument("--dsf", type=float, default=1.0)
    ap.add_argument("--site", default="shop", help="bundled site to run on")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    w, h = (int(v) for v in args.viewport.split("x"))
    env = BrowserEnv(site=args.site, viewport=(w, h), dsf=args.dsf)
    try:
        playwright = playwright_baseline(env, 5)
        rows = loop_steps(env, args.steps)
    finally:
        env.close()
    step_ms = _median_ms([r["step"] for r in rows])
    floor_ms = _median_ms([r["floor"] for r in rows])
    pw_ms = _median_ms(playwright)
    res: dict[str, Any] = {
        "viewport": f"{w}x{h}",
        "dsf": args.dsf,
        "site": args.site,
        "steps": len(rows),
        "floor_ms": floor_ms,
        "floor_capture_ms": _median_ms([r["floor_capture"] for r in rows]),
        "playwright_screenshot_ms": pw_ms,
        "loop_step_ms": step_ms,
        "ratio_to_floor": round(step_ms / floor_ms, 2) if floor_ms else None,
        "ratio_to_playwright_screenshot": round(step_ms / pw_ms, 2) if pw_ms else None,
        "phases_ms": {
            k: _median_ms([r[k] for r in rows])
            for k in rows[0]
            if not k.startswith(("step", "floor"))
        },
    }
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"{res['viewport']} @ DSF {args.dsf:g} on {args.site}, {res['steps']} steps (medians)")
    print(f"  floor: fast capture + decode     {floor_ms:7.1f} ms")
    print(f"  Playwright screenshot + decode   {res['playwright_screenshot_ms']:7.1f} ms")
    print(f"  loop step (model excluded)       {step_ms:7.1f} ms")
    for k, v in res["phases_ms"].items():
        print(f"    {k:<10} {v:7.1f} ms")
    print(f"  ratio_to_floor                   {res['ratio_to_floor']:7.2f}x   (goal ≤ 1.2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
