"""``agent bench``: run a live suite (bundled sites or MiniWoB++) and report success."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from agent.commands.flags import (
    add_env_flags,
    add_gate_flags,
    add_secret_flags,
    env_from_args,
    gate_from_args,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a live suite and report success per task")
    p.add_argument("--suite", choices=("sites", "miniwob"), required=True)
    p.add_argument(
        "--model",
        required=True,
        help="oracle (sites: the DOM-reading solver) | ocr | scripted:FILE | openai:M@URL | hub id",
    )
    p.add_argument("--tasks", nargs="+", help="task ids (sites) or names (miniwob); default: all")
    p.add_argument("--seeds", type=int, default=1, help="episodes per task (seeds 0..N-1)")
    p.add_argument("--workers", type=int, default=1, help="parallel local processes")
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run as --workers Ray actors: a private local instance, or ray.init(address=ADDRESS)",
    )
    p.add_argument("--max-steps", type=int, default=20)
    p.add_argument("--out", help="output directory (default: runs/bench-<suite>-<time>)")
    p.add_argument("--miniwob-max-time", type=float, default=120.0, help="seconds per episode")
    p.add_argument("--no-progress", action="store_true")
    add_env_flags(p, env=False)  # the suite's env: browser (sites) or miniwob
    add_gate_flags(p)  # the same gate as agent run (workers have no TTY: asks are denied)
    add_secret_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.safety.secrets import Secrets
    from agent.suites.bench import (
        BenchConfig,
        default_tasks,
        format_phases,
        format_table,
        gate_spec,
        make_jobs,
    )
    from agent.suites.parallel import bench

    _, kw = env_from_args(args, "browser" if args.suite == "sites" else "miniwob")
    viewport = kw.pop("viewport", None)
    secrets = Secrets.from_sources(args.secret)
    out = args.out or str(Path("runs") / f"bench-{args.suite}-{time.strftime('%Y%m%d-%H%M%S')}")
    cfg = BenchConfig(
        suite=args.suite,
        model=args.model,
        out=out,
        max_steps=args.max_steps,
        viewport=tuple(viewport) if viewport else None,
        dsf=kw.pop("dsf", None),
        headless=kw.pop("headless", True),
        browser_path=kw.pop("browser_path", None),
        env_kwargs=kw,
        miniwob_max_time_s=args.miniwob_max_time,
        secrets={n: secrets.value(n) for n in secrets.names},
        gate=gate_spec(gate_from_args(args)),
    )
    with secrets.guard():
        tasks = args.tasks or default_tasks(args.suite, args.model)
        jobs = make_jobs(args.suite, tasks, args.seeds)
        report = bench(cfg, jobs, workers=args.workers, ray=args.ray, progress=not args.no_progress)
        print(format_table(report["summary"]))
        if report["phases"]:
            print("\nper-step phases (p50 / p90 over every recorded step):")
            print(format_phases(report["phases"]))
        for r in report["results"]:
            if r.get("status") == "error":
                print(f"error: {r['task']} seed {r['seed']}: {r.get('error')}", file=sys.stderr)
    print(f"results: {report['path']}", file=sys.stderr)
    return 0
