"""``agent bench``: run a live suite (bundled sites or MiniWoB++) and report success."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from agent.commands.flags import (
    add_env_flags,
    add_gate_flags,
    add_secret_flags,
    env_from_args,
    gate_from_args,
)
from agent.core.errors import ConfigError


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
        help="run each job as a retried Ray task, --workers at a time: a private local "
        "instance, or ray.init(address=ADDRESS); episodes come back to --out as bytes",
    )
    p.add_argument(
        "--ray-retries",
        type=int,
        default=3,
        metavar="N",
        help="attempts after the first when a job's worker or node dies or it runs past "
        "--job-timeout (Ray)",
    )
    p.add_argument(
        "--job-timeout",
        type=float,
        default=1800.0,
        metavar="SECONDS",
        help="a Ray job without a result this long after submission is cancelled and retried",
    )
    p.add_argument(
        "--ray-resources",
        type=_resources,
        default={},
        metavar="JSON",
        help="custom Ray resources each job needs, e.g. '{\"bench_node\": 1}' to pin jobs to "
        "the nodes started with that resource",
    )
    p.add_argument("--max-steps", type=int, default=20)
    p.add_argument("--out", help="output directory (default: runs/bench-<suite>-<time>)")
    p.add_argument(
        "--resume",
        metavar="OUT",
        help="finish the bench in OUT (killed or with lost jobs): run only the jobs missing "
        "from OUT/results.jsonl; give the first run's settings",
    )
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
    from agent.suites.ray_runner import RayOptions

    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise ConfigError(f"--resume {args.resume} writes there; drop --out {args.out}")
    _, kw = env_from_args(args, "browser" if args.suite == "sites" else "miniwob")
    viewport = kw.pop("viewport", None)
    secrets = Secrets.from_sources(args.secret)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.resume or args.out or str(Path("runs") / f"bench-{args.suite}-{stamp}")
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
        ray_options = RayOptions(args.ray_retries, args.job_timeout, args.ray_resources)
        report = bench(
            cfg,
            jobs,
            workers=args.workers,
            ray=args.ray,
            progress=not args.no_progress,
            resume=bool(args.resume),
            ray_options=ray_options,
        )
        if args.resume:
            print(f"resumed: ran {len(report['ran'])} of {len(jobs)} jobs", file=sys.stderr)
        print(format_table(report["summary"]))
        if report["phases"]:
            print("\nper-step phases (p50 / p90 over every recorded step):")
            print(format_phases(report["phases"]))
        for r in report["results"]:
            if r.get("status") == "error":
                print(f"error: {r['task']} seed {r['seed']}: {r.get('error')}", file=sys.stderr)
    print(f"results: {report['path']}", file=sys.stderr)
    return 0


def _resources(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from err
    if not isinstance(data, dict) or not all(
        isinstance(v, (int, float)) and v > 0 for v in data.values()
    ):
        raise argparse.ArgumentTypeError('a JSON object of positive amounts: {"bench_node": 1}')
    return data
