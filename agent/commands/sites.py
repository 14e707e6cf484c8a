"""``agent sites``: list the bundled sites and their tasks."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sites", help="list bundled sites and their tasks")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from envs.sites import SITES, TASKS

    if args.json:
        data = {
            "sites": {name: _site_dict(s) for name, s in SITES.items()},
            "tasks": {tid: {"goal": t.goal} for tid, t in TASKS.items()},
        }
        print(json.dumps(data, indent=2))
        return 0
    for name, site in SITES.items():
        print(f"{name}: {_site_dict(site).get('description', '')}")
        for tid, t in TASKS.items():
            if tid.startswith(name + "/"):
                print(f"  {tid}: {t.goal}")
    return 0


def _site_dict(site: object) -> dict[str, object]:
    if isinstance(site, dict):
        return site
    return {k: v for k, v in vars(site).items() if not k.startswith("_")}
