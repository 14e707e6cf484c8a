"""``agent eval``: offline re-scoring of recorded episodes against their gold actions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="re-score recorded episodes offline: action type, element, text, success"
    )
    p.add_argument(
        "data",
        nargs="?",
        type=Path,
        help="--suite screenspot: a ScreenSpot-v2 or ScreenSpot-Pro directory",
    )
    p.add_argument(
        "--suite",
        choices=("episodes", "screenspot"),
        default="episodes",
        help="episodes (re-score recordings, default) or screenspot (grounding accuracy)",
    )
    p.add_argument(
        "--episodes",
        nargs="+",
        type=Path,
        help="episode directories, or directories holding them (searched recursively)",
    )
    p.add_argument("--workers", type=int, default=1, help="screenspot: parallel processes")
    p.add_argument(
        "--max-image-tokens", type=int, help="screenspot: pin the model-input pixel budget"
    )
    p.add_argument("--model", required=True, help="ocr | scripted:FILE | openai:M@URL | hub id")
    p.add_argument("--out", type=Path, help="report directory (default: runs/eval-<time>)")
    p.add_argument("--history-images", type=int, default=2, help="past screenshots per request")
    p.add_argument(
        "--step-instructions",
        action="store_true",
        help="use each step's own instruction as the task (AndroidControl low-level setting)",
    )
    p.add_argument("--no-inline", action="store_true", help="link screenshots, do not inline")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from agent.core.errors import ConfigError

    if args.suite == "screenspot":
        return run_screenspot(args)
    if not args.episodes:
        raise ConfigError("agent eval needs --episodes DIR… (or --suite screenspot DIR)")

    from agent.evaluation import evaluate, format_metrics, write_report
    from model.registry import load_model

    model = load_model(args.model)
    try:
        report = evaluate(
            args.episodes,
            model,
            history_images=args.history_images,
            step_instructions=args.step_instructions,
            progress=not args.no_progress,
        )
    finally:
        model.close()
    out = args.out or Path("runs") / f"eval-{time.strftime('%Y%m%d-%H%M%S')}"
    path = write_report(report, out, inline=not args.no_inline)
    print(format_metrics(report["metrics"]))
    print(f"report: {path} and {path.with_suffix('.html')}", file=sys.stderr)
    return 0


def run_screenspot(args: argparse.Namespace) -> int:
    import time

    from agent.core.errors import ConfigError
    from agent.evaluation.screenspot import (
        evaluate_screenspot,
        format_screenspot,
        progress_line,
        write_screenspot_report,
    )

    if args.data is None:
        raise ConfigError("agent eval --suite screenspot needs the dataset directory: DIR")
    report = evaluate_screenspot(
        args.data,
        args.model,
        max_tokens=args.max_image_tokens,
        workers=args.workers,
        progress=None if args.no_progress else progress_line,
    )
    out = args.out or Path("runs") / f"screenspot-{time.strftime('%Y%m%d-%H%M%S')}"
    path = write_screenspot_report(report, out)
    print(format_screenspot(report))
    print(f"report: {path} and {path.with_suffix('.html')}", file=sys.stderr)
    return 0
