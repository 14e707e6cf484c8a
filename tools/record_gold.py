"""Record gold episodes of every bundled-site task with the DOM-reading oracle.

    python tools/record_gold.py [--out runs/gold] [--tasks ID ...] [--viewport 1280x800]
                                [--dsf 1]

Each task runs in a real headless Chromium with :class:`envs.sites.oracle.OracleModel`,
which resolves every solution step's selector in the live DOM and answers the action with
``box`` = the element's rectangle (CSS px → screenshot px through agent.core.coords). After the
episode, each step line gets its ``gold`` (see :mod:`agent.evaluation.gold`): the executed
action and that box. ``agent eval --episodes runs/gold --model M`` then scores any model
against them; ``index.json`` lists the episodes and whether each task's own check passed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent.episode.loop import LoopConfig
from agent.episode.runner import run_episode
from agent.evaluation.gold import attach_gold, gold_entry
from agent.evaluation.metrics import executed
from envs.browser import BrowserEnv
from envs.sites import TASKS, get_task
from envs.sites.oracle import OracleModel


def step_gold(step: dict[str, Any]) -> dict[str, Any] | None:
    """The executed action of a step and the DOM box the oracle grounded it on."""
    acts = executed(step)
    if not acts:
        return None
    action = acts[0]
    boxes = [action["box"]] if action.get("box") else []
    return gold_entry(action, boxes=boxes, source="oracle-dom")


def record(
    tasks: list[str],
    out: str | Path,
    *,
    viewport: tuple[int, int] = (1280, 800),
    dsf: float = 1.0,
    max_steps: int = 60,
) -> list[dict[str, Any]]:
    """Record one gold episode per task under ``out``; returns the index entries."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    index = []
    env = BrowserEnv(site="flights", viewport=viewport, dsf=dsf)
    try:
        for tid in tasks:
            task = get_task(tid)
            ep_dir = root / tid.replace("/", "__")
            result = run_episode(
                env,
                OracleModel(env, task),
                ep_dir,
                task=task,
                config=LoopConfig(max_steps=max_steps),
                extra_meta={"gold": {"source": "oracle-dom"}},
            )
            n = attach_gold(ep_dir, step_gold)
            ok = bool((result.evaluation or {}).get("success"))
            entry = {"task": tid, "episode": ep_dir.name, "status": result.status}
            entry.update(success=ok, gold_steps=n)
            index.append(entry)
            print(f"{tid}: {entry['status']}, {n} gold steps", file=sys.stderr)
    finally:
        env.close()
    (root / "index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default="runs/gold")
    ap.add_argument("--tasks", nargs="+", default=sorted(TASKS))
    ap.add_argument("--viewport", default="1280x800")
    ap.add_argument("--dsf", type=float, default=1.0)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.viewport.lower().split("x"))
    index = record(args.tasks, args.out, viewport=(w, h), dsf=args.dsf)
    return 0 if all(e["success"] for e in index) else 1


if __name__ == "__main__":
    sys.exit(main())
