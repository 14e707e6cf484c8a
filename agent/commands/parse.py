"""``agent parse``: parse one raw model output offline and show where it would act.

Useful to check a model's output format and the coordinate mapping without an env: prints a
JSON list of actions with screenshot-px points and the env input units they become.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from agent.core.actions import Action, dump_action
from agent.core.coords import DEFAULT_MAX_TOKENS, Frame, screen_to_input
from agent.core.errors import ConfigError

_SIZE = re.compile(r"\s*(\d{1,6})\s*[xX×,]\s*(\d{1,6})\s*")


def register(sub: argparse._SubParsersAction) -> None:
    from model.parsers import FORMATS

    p = sub.add_parser(
        "parse",
        help="parse a raw model output into actions (offline)",
        description="Parse one raw model output and print the actions as JSON, with "
        "points in screenshot px and in env input units.",
    )
    from model.profiles import PROFILES

    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--model-family",
        metavar="NAME",
        help=f"a model family (its dialect, grid and pixel budget): {', '.join(PROFILES)}",
    )
    which.add_argument(
        "--format", "-f", help=f"a bare output dialect, one of: {', '.join(FORMATS)}"
    )
    p.add_argument(
        "--action-space",
        choices=("computer", "mobile", "grounding"),
        default="computer",
        help="the family's action space, whose dialect reads the text (default computer)",
    )
    p.add_argument("--screen", required=True, metavar="WxH", help="screenshot size, physical px")
    p.add_argument(
        "--dsf", type=float, default=1.0, help="device scale factor: screenshot px per input unit"
    )
    p.add_argument(
        "--mode",
        choices=("pad", "resize"),
        default=None,
        help="how the screenshot became model input (default: the format's)",
    )
    p.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help=f"image token cap (default: the family's pixel budget, else {DEFAULT_MAX_TOKENS})",
    )
    p.add_argument(
        "--pointer",
        metavar="X,Y",
        help="where the pointer is, screenshot px (calls without a coordinate act there)",
    )
    p.add_argument("text", metavar="TEXT", help="the raw model output, or - for stdin")
    p.set_defaults(func=run)


def parse_size(value: str) -> tuple[int, int]:
    m = _SIZE.fullmatch(value)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        raise ConfigError(f"--screen must be WIDTHxHEIGHT in px, like 1920x1080; got {value!r}")
    return int(m.group(1)), int(m.group(2))


def describe(action: Action, frame: Frame) -> dict[str, Any]:
    """The action's JSON plus where each of its points lands in input units."""
    out = dump_action(action)
    point = getattr(action, "point", None)
    if point is not None:
        out["point"] = [point[0], point[1]]
        out["input_point"] = list(screen_to_input(frame, *point))
    for name in ("start", "end"):
        p = getattr(action, name, None)
        if p is not None:
            out[f"input_{name}"] = list(screen_to_input(frame, *p))
    return out


def run(args: argparse.Namespace) -> int:
    from model.parsers import frame_options, mode_for, parse, spec_for
    from model.profiles import get_profile

    width, height = parse_size(args.screen)
    if not (args.dsf > 0 and args.dsf < 100):
        raise ConfigError(f"--dsf must be a positive scale factor, got {args.dsf}")
    text = sys.stdin.read() if args.text == "-" else args.text
    pointer = None
    if args.pointer is not None:
        m = _SIZE.fullmatch(args.pointer)
        if not m:
            raise ConfigError(f"--pointer must be X,Y in screenshot px; got {args.pointer!r}")
        pointer = (float(m.group(1)), float(m.group(2)))
    geometry: dict[str, Any] = {"scale": args.dsf, "pointer": pointer}
    if args.model_family:  # the family's dialect for the space, its grid and pixel budget
        family = get_profile(args.model_family)
        fmt = family.format_for(args.action_space)
        frame = family.frame(
            width,
            height,
            action_space=args.action_space,
            mode=args.mode,
            max_tokens=args.max_tokens,
            **geometry,
        )
    else:
        fmt = args.format
        frame = Frame.for_screen(
            width,
            height,
            mode=args.mode or mode_for(fmt),
            max_tokens=args.max_tokens or DEFAULT_MAX_TOKENS,
            convention=spec_for(fmt).convention,  # unknown → ConfigError listing the known
            **geometry,
            **frame_options(fmt),  # the format's grid (28, or 32 for qwen3-vl), floor, divisor
        )
    parsed = parse(fmt, text, frame)
    print(json.dumps([describe(a, frame) for a in parsed.actions], indent=2))
    return 0
