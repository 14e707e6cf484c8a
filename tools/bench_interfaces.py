"""Measure the interfaces' own cost: a Gymnasium step (gate + masking + recording + the
observation array) against a bare ``env.step`` on the same browser page, and ``agent export``
throughput on recorded 1920x1080 episodes, per family.

    python tools/bench_interfaces.py [--steps 20] [--episodes 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def bench_gym(steps: int) -> str:
    import gymnasium

    import agent.interfaces.gym  # noqa: F401 — registers native_agent/*-v0
    from agent.core.actions import Hover

    env = gymnasium.make(
        "native_agent/browser-v0", site="account", record_dir=tempfile.mkdtemp(), max_steps=10**6
    )
    try:
        env.reset()
        native = env.unwrapped.native
        action = {"type": "hover", "point": [400, 300]}
        for _ in range(3):  # warm up both paths
            env.step(action)
            native.step(Hover(point=(400, 300)))
        gym_s, bare_s = [], []
        for _ in range(steps):
            t = time.perf_counter()
            env.step(action)
            gym_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            native.step(Hover(point=(400, 300)))
            bare_s.append(time.perf_counter() - t)
    finally:
        env.close()
    g, b = statistics.median(gym_s), statistics.median(bare_s)
    return f"gym step median {1000 * g:.0f} ms, bare env.step {1000 * b:.0f} ms ({g / b:.2f}x)"


def _episode(out: Path, seed: int) -> None:
    from agent.core.actions import Click, Key, Type, dump_action
    from agent.core.observation import Observation
    from agent.episode.recording import EpisodeWriter

    rng = np.random.default_rng(seed)
    writer = EpisodeWriter(out, {"task": {"goal": "search"}, "env": {"name": "desktop"}})
    for i in range(12):
        img = np.zeros((1080, 1920, 3), np.uint8)
        img[..., 0] = np.linspace(0, 255, 1920, dtype=np.uint8)[None, :]
        img[100 + 20 * i : 160 + 20 * i, 300:700] = rng.integers(0, 255, 3)
        pt = (float(rng.uniform(10, 1900)), float(rng.uniform(10, 1070)))
        action = [Click(point=pt), Type(text="BOS", point=pt), Key(keys="enter")][i % 3]
        obs = Observation(array=img)
        writer.write_step({
            "index": i, "observation": obs.meta(), "screenshot": writer.save_screenshot(i, obs),
            "actions": [{"action": dump_action(action), "result": {}}],
        })  # fmt: skip
    writer.finish({"status": "success", "steps": 12})


def bench_export(episodes: int) -> list[str]:
    from agent.export import export

    root = Path(tempfile.mkdtemp())
    for k in range(episodes):
        _episode(root / f"ep{k}", k)
    lines = []
    for family in ("qwen2-vl", "qwen2.5-vl", "ui-tars-1.5"):
        t = time.perf_counter()
        m = export([root], family=family, format="llamafactory", out=root / f"out-{family}")
        dt = time.perf_counter() - t
        lines.append(f"{family}: {m['samples']} samples in {dt:.2f} s = {m['samples'] / dt:.1f}/s")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--episodes", type=int, default=3)
    args = p.parse_args()
    print(
        json.dumps({"gym": bench_gym(args.steps), "export": bench_export(args.episodes)}, indent=1)
    )


if __name__ == "__main__":
    main()
