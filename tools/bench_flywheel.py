"""The closed loop, measured: gold episodes → ``agent train`` a tiny model → ``agent bench``.

    python tools/bench_flywheel.py --out runs/flywheel [--task shop/add-to-cart]
        [--family qwen2.5-vl] [--steps 120] [--lr 2e-2] [--seeds 3] [--viewport 640x400]

1. the DOM oracle records a gold episode of ``--task`` (:mod:`tools.record_gold`);
2. ``tools/make_tiny_qwen.py`` builds a tiny random checkpoint of ``--family``;
3. ``agent bench --suite sites`` runs the random model on ``--seeds`` seeds (before);
4. :func:`agent.train.train` fine-tunes it on the gold samples (full fine-tune, CPU or CUDA);
5. ``agent bench`` runs the trained checkpoint on the same seeds (after);
6. with ``--vllm``: the real vLLM (CPU build, :mod:`tools.vllm_cpu`) serves the trained
   checkpoint and ``agent bench --model openai:NAME@URL`` runs it again (after, served).

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
    ap.add_argument(
        "--variant-viewport",
        help="also bench the trained model at this viewport (a harder variant: the same "
        "pages laid out at another size, never seen in training)",
    )
    ap.add_argument(
        "--retrain",
        action="store_true",
        help="train again even when --out already holds a trained checkpoint",
    )
    ap.add_argument(
        "--vllm", action="store_true", help="also serve the trained model with vLLM and bench it"
    )
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
        make_tiny_qwen.build_tiny(base, args.family, head_dim=32)  # 32: vLLM's CPU kernels

    def cfg(model: Path | str, name: str, viewport: tuple[int, int] = (w, h)) -> BenchConfig:
        shutil.rmtree(out / name, ignore_errors=True)  # a bench refuses an OUT holding one
        return BenchConfig(
            suite="sites", model=str(model), out=str(out / name), max_steps=args.max_steps,
            viewport=viewport, model_settings={"max_new_tokens": 160, "family": args.family},
        )  # fmt: skip

    before = success(cfg(base, "bench-before"), args.task, args.seeds)
    t1 = time.time()
    trained = out / "trained"
    if (trained / "train.json").exists() and not args.retrain:
        record = json.loads((trained / "train.json").read_text(encoding="utf-8"))
        t1 -= record["time_s"]["total_s"]
    else:
        record = train(
            TrainConfig(
                episodes=[str(gold)],
                family=args.family,
                base=str(base),
                out=str(trained),
                lora=0,
                lr=args.lr,
                max_steps=args.steps,
                save_steps=max(args.steps, 1),
            )
        )
    times["train_s"] = time.time() - t1
    after = success(cfg(trained, "bench-after"), args.task, args.seeds)
    variant = None
    if args.variant_viewport:
        vw, vh = (int(v) for v in args.variant_viewport.lower().split("x"))
        variant = success(cfg(trained, "bench-variant", (vw, vh)), args.task, args.seeds)
    served = None
    if args.vllm:  # the same checkpoint behind the real vLLM, through --model openai:…
        import vllm_cpu

        t2 = time.time()
        with vllm_cpu.start(trained, name="trained", single_process=True) as server:
            times["vllm_start_s"] = time.time() - t2
            spec = f"openai:trained@{server.base_url}"
            served = success(cfg(spec, "bench-after-vllm"), args.task, args.seeds)
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
        "after_vllm": served,
        "variant": {"viewport": args.variant_viewport, **variant} if variant else None,
        "time_s": {k: round(v, 1) for k, v in times.items()},
        "device": record["device"],
    }
    (out / "flywheel.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"| {args.task} ({args.family}, {w}x{h}) | episodes | success |")
    print("|---|---:|---:|")
    print(f"| before (random) | {before['episodes']} | {100 * before['rate']:.0f}% |")
    print(f"| after {record['steps']} steps | {after['episodes']} | {100 * after['rate']:.0f}% |")
    if variant is not None:
        print(
            f"| after, at {args.variant_viewport} (unseen layout) | {variant['episodes']} "
            f"| {100 * variant['rate']:.0f}% |"
        )
    if served is not None:
        print(f"| after, served by vLLM | {served['episodes']} | {100 * served['rate']:.0f}% |")
    print(
        f"training: {times['train_s']:.0f} s on {record['device']}, "
        f"loss {result['loss_first_last']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
