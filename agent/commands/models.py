"""``agent models``: the model families native-agent runs, as data — each family's dialect per
action space, its coordinate space, grid and pixel budget, and the sources its prompt, parser
and coordinate rule follow (``--json`` for scripts)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the model families: dialects, coordinate spaces, pixel budgets, sources",
        description="List every model family with its output dialect per action space, the "
        "coordinate space, the vision grid and pixel budget, and its sources.",
    )
    p.add_argument("family", nargs="?", help="show one family (name or alias)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def family_info(name: str) -> dict[str, Any]:
    """One family as JSON-safe data (what ``agent models`` prints)."""
    from model.parsers import spec_for
    from model.profiles import get_profile

    p = get_profile(name)
    spaces = {}
    for space in p.action_spaces:
        d = spec_for(p.format_for(space))
        spaces[space] = {
            "dialect": d.name,
            "grammar": d.description,
            "coordinates": d.coords.describe(),
            "constrained": d.grammar is not None,
        }
    return {
        "family": p.name,
        "description": p.description,
        "grid": p.grid,
        "max_pixels": p.max_pixels,
        "min_pixels": p.min_pixels,
        "action_spaces": spaces,
        "history": {
            **dict(zip(("steps", "images"), p.history(None, None), strict=True)),
            "block": p.block(None, p.history(None, None)[1]),
        },
        "model_types": list(p.model_types),
        "remote_code": p.remote_code,
        "aliases": list(p.aliases),
        "sources": list(p.sources),
    }


def run(args: argparse.Namespace) -> int:
    from model.profiles import PROFILES

    names = [args.family] if args.family else list(PROFILES)
    infos = [family_info(n) for n in names]  # an unknown name → ConfigError listing the known
    if args.json:
        print(json.dumps(infos if not args.family else infos[0], indent=2, ensure_ascii=False))
        return 0
    for info in infos:
        print(f"{info['family']}: {info['description']}")
        budget = f"{info['max_pixels']:,} px"
        hist = info["history"]
        print(
            f"  grid {info['grid']}, pixel budget {budget}, history {hist['steps']} steps "
            f"({hist['images']} with screenshots)"
        )
        for space, d in info["action_spaces"].items():
            print(f"  {space:<9} {d['dialect']}: {d['coordinates']}")
        for src in info["sources"]:
            print(f"  source    {src}")
    return 0
