"""``agent calibrate --env NAME``: click known targets through model formats, report the
error in px per target (table, or JSON with ``--json``)."""

from __future__ import annotations

import argparse
import json
import sys

from agent.commands.flags import add_env_flags, env_from_args, size
from agent.core.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="click known targets through model coordinate formats and report the error in px",
    )
    add_env_flags(p, default=None, choices=("browser", "desktop", "board"), required=True)
    p.add_argument("--screen", type=size, default=(1366, 768), help="desktop: private Xvfb size")
    p.add_argument("--scale", type=float, default=1.0, help="board: HiDPI scale")
    p.add_argument(
        "--formats",
        default=None,
        help="comma-separated output formats (default: one per distinct coordinate spec of "
        "every model family's dialects: space, divisor, input mode, grid — e.g. ui-tars = "
        "norm1000/pad, qwen3-vl-mobile = norm999/pad, ui-tars-1.5 = abs/resize)",
    )
    p.add_argument(
        "--precision",
        choices=("exact", "int"),
        default="exact",
        help="exact: decimals that round-trip (any error is a bug); int: as real models write",
    )
    p.add_argument("--max-error", type=float, default=None, help="exit 1 above this many px")
    p.add_argument("--json", nargs="?", const="-", default=None, help="write JSON (to a file)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.calibration import calibrate, default_formats, make_surface

    name, kw = env_from_args(args)  # browser default: 1366x768 CSS px at DSF 1
    if name == "browser":
        kw["viewport"] = tuple(kw.get("viewport", (1366, 768)))
    elif name == "desktop":
        kw["screen"] = args.screen
    else:
        kw.setdefault("scale", args.scale)
    raw = ",".join(default_formats()) if args.formats is None else args.formats
    formats = [f.strip() for f in raw.split(",") if f.strip()]
    if not formats:
        raise ConfigError("--formats is empty")
    surface = make_surface(args.env, **kw)
    try:
        report = calibrate(surface, formats=formats, precision=args.precision)
    finally:
        surface.close()
    if args.json == "-":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table())
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(report.to_dict(), f, indent=2)
            print(f"wrote {args.json}", file=sys.stderr)
    if not report.ok:
        return 1
    if args.max_error is not None and report.max_error() > args.max_error:
        return 1
    return 0
