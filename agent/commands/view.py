"""``agent view``: one self-contained HTML page for an episode or an eval report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="render an episode or an eval report as one HTML page")
    p.add_argument("target", type=Path, help="an episode directory or an eval report.json")
    p.add_argument("--out", type=Path, help="HTML file (default: EPISODE/view.html, REPORT.html)")
    inline = p.add_mutually_exclusive_group()
    inline.add_argument(
        "--inline",
        dest="inline",
        action="store_true",
        default=True,
        help="embed screenshots as data: URLs (default)",
    )
    inline.add_argument(
        "--no-inline", dest="inline", action="store_false", help="link screenshots by path"
    )
    p.add_argument("--no-open", action="store_true", help="do not open a web browser")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.evaluation.viewer import write_view

    path = write_view(args.target, args.out, inline=args.inline, open_browser=not args.no_open)
    print(path)
    print(f"wrote {path}", file=sys.stderr)
    return 0
