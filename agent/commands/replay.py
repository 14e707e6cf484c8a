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
    p.add_argument(
        "--grounder",
        help="re-ground described targets with this grounder (default: the episode's, else ocr)",
    )
    p.add_argument(
        "--reground",
        choices=("diverged", "always", "off"),
        default="diverged",
        help="when to re-ground a step recorded with a target description (default diverged)",
    )
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="type VALUE where the recording typed NAME (the typed text, or step<N>); repeatable",
    )
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
    variables = parse_vars(args.var)
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
            grounder=args.grounder,
            reground=args.reground,
            variables=variables,
            **overrides,
        )
    for c in report.steps:
        score = "  n/a " if c.score is None else f"{c.score:.4f}"
        flag = "  DIVERGED" if c.diverged else ""
        if c.settle_waits:
            flag += f"  (after {c.settle_waits} settle wait(s))"
        if c.reground is not None:
            r = c.reground
            flag += f"  re-grounded {r['description']}: " + (
                f"{_pt(r['old_point'])} -> {_pt(r['new_point'])}" if r["ok"] else "NOT FOUND"
            )
        print(f"step {c.index:>3}  difference {score}{flag}")
    if report.first_divergence is None:
        print("no divergence")
    else:
        print(f"diverged at step {report.first_divergence}")
    for v in report.variables:  # names only: a value is the user's, maybe sensitive
        print(f"step {v['step']:>3}  --var {v['name']} replaced the typed value")
    if report.stopped is not None:
        print(f"stopped: {report.stopped}")
    if report.taken_over_at is not None:
        print(f"model took over at step {report.taken_over_at}")
    print(f"outcome: {report.outcome.get('status')}", file=sys.stderr)
    print(f"episode: {report.episode}", file=sys.stderr)
    ok = report.recovered or report.outcome.get("status") == "success"
    return 0 if ok else 1


def parse_vars(items: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs (split at the first ``=``); ConfigError for a malformed or
    repeated NAME."""
    from agent.core.errors import ConfigError

    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise ConfigError(f"--var takes NAME=VALUE (e.g. --var BOS=SFO), got {item!r}")
        if name in out:
            raise ConfigError(f"--var {name} is given twice")
        out[name] = value
    return out


def _pt(p: list[float] | None) -> str:
    return "?" if p is None else f"({p[0]:.0f}, {p[1]:.0f})"
