"""``agent export``: recorded episodes → fine-tuning samples for one model family."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent.core.coords import DEFAULT_MAX_TOKENS


def register(sub: argparse._SubParsersAction) -> None:
    from agent.export.formats import FORMATS
    from model.prompts import FAMILIES

    p = sub.add_parser(
        "export",
        help="turn recorded episodes into fine-tuning data (LLaMA-Factory, ShareGPT, ms-swift)",
        description="Each step becomes a sample in the family's own prompt template, "
        "coordinate space and output dialect, images as the model is given them, the same "
        "history window as at inference; every sample is parsed back before it is written.",
    )
    p.add_argument("episodes", nargs="+", type=Path, help="episode directories (searched)")
    p.add_argument("--format", choices=FORMATS, default="llamafactory")
    p.add_argument("--family", required=True, choices=sorted(FAMILIES), help="target model")
    p.add_argument("--out", type=Path, required=True, help="dataset directory")
    p.add_argument("--name", help="dataset name (default: native_agent_<family>)")
    p.add_argument(
        "--status",
        action="append",
        help="episode outcomes to take (repeatable; 'any' for all); default: success "
        "(gold episodes are always taken)",
    )
    p.add_argument("--history-images", type=int, default=2, help="as at inference (default 2)")
    p.add_argument("--history-steps", type=int, default=20, help="as at inference (default 20)")
    p.add_argument(
        "--history-block", type=int, help="as at inference (default: the family's, 1 or 3)"
    )
    p.add_argument(
        "--max-image-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="the model's token cap"
    )
    p.add_argument("--action-space", choices=("auto", "computer", "mobile"), default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.export import export

    manifest = export(
        args.episodes,
        family=args.family,
        format=args.format,
        out=args.out,
        name=args.name,
        statuses=tuple(args.status or ("success",)),
        history_images=args.history_images,
        history_steps=args.history_steps,
        history_block=args.history_block,
        max_tokens=args.max_image_tokens,
        action_space=args.action_space,
    )
    print(
        f"{manifest['samples']} samples from {manifest['episodes_used']}/"
        f"{manifest['episodes']} episodes → {args.out / manifest['file']} "
        f"({manifest['family']}, {manifest['dialect']} dialect, images ≤ "
        f"{manifest['image_max_pixels']} px: set image_max_pixels / MAX_PIXELS to at least that)",
        file=sys.stderr,
    )
    for reason, n in sorted(manifest["skipped"].items(), key=lambda kv: -kv[1]):
        print(f"  skipped {n}: {reason}", file=sys.stderr)
    print(json.dumps({k: manifest[k] for k in ("dataset", "file", "samples")}))
    return 0 if manifest["samples"] else 1
