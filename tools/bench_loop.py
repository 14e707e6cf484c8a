"""Per-step overhead of the loop itself (capture + record + execute; model excluded) at
1920×1080, beside a bare Playwright ``page.screenshot`` in the same run and browser.

    python tools/bench_loop.py [--steps 30] [--viewport 1920x1080] [--json]

Baseline: ``page.screenshot(type="png", scale="device")`` on the same page, N times.
Ours: the real :class:`agent.episode.loop.Loop` driving a BrowserEnv with a scripted model (zero
model time) that hovers over alternating points — every step captures a screenshot,
queues its PNG, appends a steps.jsonl line and executes an action (with the env's settle).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agent.episode.loop import Loop, LoopConfig
from agent.episode.recording import EpisodeWriter
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--viewport", default="1920x1080")
    ap.add_argument("--site", default="shop", help="bundled site to run on")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    w, h = (int(v) for v in args.viewport.split("x"))
    env = BrowserEnv(site=args.site, viewport=(w, h))
    try:
        page = env.page
        for _ in range(3):
            page.screenshot(type="png", scale="device")
        bare = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            page.screenshot(type="png", scale="device")
            bare.append(time.perf_counter() - t0)

        points = [(w * 0.3, h * 0.6), (w * 0.7, h * 0.6)]
        outputs = [
            json.dumps({"type": "hover", "point": list(points[i % 2])})
            for i in range(args.steps + 3)
        ]
        obs = env.reset()
        with tempfile.TemporaryDirectory() as tmp:
            writer = EpisodeWriter(Path(tmp) / "ep", {"task": {"goal": "bench"}})
            steps: list[float] = []
            model_s: list[float] = []
            loop = Loop(
                env,
                ScriptedModel(outputs),
                writer,
                config=LoopConfig(max_steps=args.steps + 3, no_progress_k=10**6),
                on_step=lambda ev: (
                    steps.append(ev.timings["step_s"]),
                    model_s.append(ev.timings.get("model_s", 0.0)),
                ),
            )
            t_all = time.perf_counter()
            loop.run("bench", obs)
            t_all = time.perf_counter() - t_all
            writer.finish({"status": "bench"})
        # a step's line covers decide + execute; the next observation's capture happens in
        # env.step, so the per-step wall time includes capture, record and execute.
        ours = [s - m for s, m in zip(steps[3:], model_s[3:], strict=True)]
    finally:
        env.close()
    res = {
        "viewport": f"{w}x{h}",
        "steps": len(ours),
        "bare_screenshot_ms": round(statistics.median(bare) * 1000, 1),
        "loop_step_ms": round(statistics.median(ours) * 1000, 1),
        "ratio": round(statistics.median(ours) / statistics.median(bare), 2),
        "loop_total_s": round(t_all, 2),
    }
    if args.json:
        print(json.dumps(res))
    else:
        print(f"viewport {res['viewport']}, {res['steps']} steps (median)")
        print(f"  bare page.screenshot      {res['bare_screenshot_ms']:8.1f} ms")
        print(f"  loop step (model excluded) {res['loop_step_ms']:7.1f} ms")
        print(f"  ratio                     {res['ratio']:8.2f}x   (goal ≤ 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
