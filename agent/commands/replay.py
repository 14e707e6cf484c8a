"""``agent replay``: re-execute a recorded episode live and report where it diverges."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.commands.flags import (
    add_env_flags,
    add_gate_flags,
    add_secret_flags,
    env_from_args,
    gate_from_args,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay", help="re-execute a recorded episode and report where the live run diverges"
    )
    p.add_argument("episode", type=Path, help="a recorded episode directory")
    p.add_argument("--model", help="let this model take over from the divergence point")
    p.add_argument("--out", type=Path, help="directory of the replay episode")
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="perceptual difference above which a step diverges (default 0.03)",
    )
    p.add_argument(
        "--continue",
        dest="keep_going",
        action="store_true",
        help="without --model: keep replaying after a divergence (report every step)",
    )
    p.add_argument("--max-steps", type=int, default=30, help="takeover budget beyond the record")
    add_env_flags(p, default=None)  # default: the recorded env; settings override its spec
    add_gate_flags(p)  # the same gate as agent run: a recorded confirmation is asked again
    add_secret_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.episode.recording import load_episode
    from agent.episode.runner import recorded_spec
    from agent.replay.live import DEFAULT_THRESHOLD, replay_live
    from agent.safety.secrets import Secrets

    name = args.env or recorded_spec(load_episode(args.episode).meta).name
    _, overrides = env_from_args(args, name)
    secrets = Secrets.from_sources(args.secret)
    with secrets.guard():
        report = replay_live(
            args.episode,
            env=args.env,
            model=args.model,
            out=args.out,
            threshold=DEFAULT_THRESHOLD if args.threshold is None else args.threshold,
            stop_on_divergence=not args.keep_going,
            max_steps=args.max_steps,
            secrets=secrets,
            gate=gate_from_args(args),
            **overrides,
        )
    for c in report.steps:
        score = "  n/a " if c.score is None else f"{c.score:.4f}"
        flag = "  DIVERGED" if c.diverged else ""
        if c.settle_waits:
            flag += f"  (after {c.settle_waits} settle wait(s))"
        print(f"step {c.index:>3}  difference {score}{flag}")
    if report.first_divergence is None:
        print("no divergence")
    else:
        print(f"diverged at step {report.first_divergence}")
    if report.taken_over_at is not None:
        print(f"model took over at step {report.taken_over_at}")
    print(f"outcome: {report.outcome.get('status')}", file=sys.stderr)
    print(f"episode: {report.episode}", file=sys.stderr)
    return 0 if report.first_divergence is None or report.outcome.get("status") == "success" else 1
