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
        "--episodes",
        nargs="+",
        required=True,
        type=Path,
        help="episode directories, or directories holding them (searched recursively)",
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
