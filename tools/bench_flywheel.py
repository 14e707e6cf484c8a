"""The closed loop, measured: gold episodes → ``agent train`` a tiny model → ``agent bench``.

    python tools/bench_flywheel.py --out runs/flywheel [--task shop/add-to-cart]
        [--family qwen2.5-vl] [--steps 120] [--lr 2e-2] [--seeds 3] [--viewport 640x400]

1. the DOM oracle records a gold episode of ``--task`` (:mod:`tools.record_gold`);
2. ``tools/make_tiny_qwen.py`` builds a tiny random checkpoint of ``--family``;
3. ``agent bench --suite sites`` runs the random model on ``--seeds`` seeds (before);
4. :func:`agent.train.train` fine-tunes it on the gold samples (full fine-tune, CPU or CUDA);
5. ``agent bench`` runs the trained checkpoint on the same seeds (after).

What the model has to learn: the bundled sites reset to one fixed state, so every seed shows
the same screens and wording — success here measures that the loop closes (the export
samples, the training and the in-process backend agree token for token), not
generalisation. Prints the before / after table and writes ``flywheel.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from agent.suites.bench import BenchConfig, make_jobs  # noqa: E402
from agent.suites.parallel import bench  # noqa: E402
from agent.train import TrainConfig, train  # noqa: E402


def success(cfg: BenchConfig, task: str, seeds: int) -> dict[str, Any]:
    t0 = time.time()
    report = bench(cfg, make_jobs("sites", [task], seeds), progress=False)
    summary = report["summary"]
    return {
        "episodes": summary["episodes"],
        "successes": summary["successes"],
        "rate": summary["success_rate"],
        "time_s": round(time.time() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    import make_tiny_qwen
    import record_gold

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--task", default="shop/add-to-cart")
    ap.add_argument("--family", default="qwen2.5-vl", choices=("qwen2-vl", "qwen2.5-vl"))
    ap.add_argument("--steps", type=int, default=120, help="optimiser steps")
    ap.add_argument("--lr", type=float, default=2e-2)
    ap.add_argument("--seeds", type=int, default=3, help="bench episodes before and after")
    ap.add_argument("--viewport", default="640x400")
    ap.add_argument("--max-steps", type=int, default=8, help="steps per bench episode")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.viewport.lower().split("x"))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}

    t0 = time.time()
    gold = out / "gold"
    if not gold.exists():
        record_gold.record([args.task], gold, viewport=(w, h))
    times["gold_s"] = time.time() - t0
    base = out / "base"
    if not base.exists():
        make_tiny_qwen.build_tiny(base, args.family)

    def cfg(model: Path, name: str) -> BenchConfig:
        shutil.rmtree(out / name, ignore_errors=True)  # a bench refuses an OUT holding one
        return BenchConfig(
            suite="sites", model=str(model), out=str(out / name), max_steps=args.max_steps,
            viewport=(w, h), model_settings={"max_new_tokens": 160},
        )  # fmt: skip

    before = success(cfg(base, "bench-before"), args.task, args.seeds)
    t1 = time.time()
    record = train(
        TrainConfig(
            episodes=[str(gold)],
            family=args.family,
            base=str(base),
            out=str(out / "trained"),
            lora=0,
            lr=args.lr,
            max_steps=args.steps,
            save_steps=max(args.steps, 1),
        )
    )
    times["train_s"] = time.time() - t1
    after = success(cfg(out / "trained", "bench-after"), args.task, args.seeds)
    losses = [x["loss"] for x in record["losses"]]
    result = {
        "task": args.task,
        "family": args.family,
        "viewport": [w, h],
        "samples": record["data"]["samples"],
        "steps": record["steps"],
        "loss_first_last": [losses[0], losses[-1]] if losses else None,
        "before": before,
        "after": after,
        "time_s": {k: round(v, 1) for k, v in times.items()},
        "device": record["device"],
    }
    (out / "flywheel.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"| {args.task} ({args.family}, {w}x{h}) | episodes | success |")
    print("|---|---:|---:|")
    print(f"| before (random) | {before['episodes']} | {100 * before['rate']:.0f}% |")
    print(f"| after {record['steps']} steps | {after['episodes']} | {100 * after['rate']:.0f}% |")
    print(
        f"training: {times['train_s']:.0f} s on {record['device']}, "
        f"loss {result['loss_first_last']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
