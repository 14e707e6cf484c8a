"""``agent train``: fine-tune a checkpoint on recorded episodes (the samples ``agent export``
renders, encoded as the in-process backend encodes them at inference)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from model.prompts import FAMILIES

    p = sub.add_parser(
        "train",
        help="fine-tune a checkpoint on recorded episodes (LoRA or full, native resolution)",
        description="Supervised fine-tuning on exactly the samples `agent export` renders "
        "(the family's prompt, history window, dialect and coordinate space), images as "
        "native-resolution pixel_values as at inference, the loss on the answer only. "
        "Resumes from the last checkpoint in --out; writes a merged checkpoint that "
        "`agent run --model DIR` loads, and DIR/train.json.",
    )
    p.add_argument("episodes", nargs="+", help="episode directories (searched)")
    p.add_argument("--family", required=True, choices=sorted(FAMILIES), help="model family")
    p.add_argument("--base", required=True, help="the checkpoint to start from (directory)")
    p.add_argument("--out", required=True, type=Path, help="output directory")
    p.add_argument("--lora", type=int, default=16, help="LoRA rank; 0: full fine-tune")
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument(
        "--max-image-tokens", type=int, help="token cap per screenshot (default: the base's)"
    )
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-steps", type=int, default=50, help="checkpoint every N steps")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after N optimiser steps")
    p.add_argument("--device", help="cuda, cpu (default: cuda when available)")
    p.add_argument(
        "--status",
        action="append",
        help="episode outcomes to take (repeatable; 'any' for all); default: success "
        "(gold episodes are always taken)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.train import TrainConfig, train

    record = train(
        TrainConfig(
            episodes=list(args.episodes),
            family=args.family,
            base=args.base,
            out=str(args.out),
            lora=args.lora,
            epochs=args.epochs,
            lr=args.lr,
            max_image_tokens=args.max_image_tokens,
            batch_size=args.batch_size,
            seed=args.seed,
            save_steps=args.save_steps,
            max_steps=args.max_steps,
            device=args.device,
            statuses=tuple(args.status or ("success",)),
        )
    )
    losses = record["losses"]
    first, last = (losses[0]["loss"], losses[-1]["loss"]) if losses else (None, None)
    print(
        f"trained {record['steps']} steps on {record['data']['samples']} samples "
        f"({record['device']}, {record['time_s']['train_s']:.0f} s): loss {first} → {last}; "
        f"merged checkpoint in {args.out}",
        file=sys.stderr,
    )
    print(json.dumps({"out": str(args.out), "steps": record["steps"], "final_loss": last}))
    return 0
