"""Gold data in our episode format: the ``gold`` field of a step line, episodes written
from external datasets, and gold attached to recorded episodes after the fact.

A step's ``gold`` (all coordinates screenshot px)::

    {"action": {...an action of agent.core.actions...},
     "boxes": [[x1, y1, x2, y2], ...],     # any-of; empty when unknown
     "distance_threshold": 0.14,           # optional: also match within this screen fraction
     "source": "oracle-dom" | "androidcontrol" | "aitw" | "mind2web" | ...,
     ...dataset-specific extras (e.g. "op": "SELECT")}
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.actions import dump_action, parse_action
from agent.core.coords import screen_to_input
from agent.core.errors import CoordinateError, RecordingError
from agent.core.observation import Observation
from agent.episode.recording import EpisodeWriter, _atomic_write, load_episode


def gold_entry(
    action: dict[str, Any],
    *,
    boxes: list[list[float]] | None = None,
    distance_threshold: float | None = None,
    source: str,
    **extra: Any,
) -> dict[str, Any]:
    """A validated ``gold`` value (the action goes through the action schema)."""
    out: dict[str, Any] = {
        "action": dump_action(parse_action(action)),
        "boxes": [[round(float(v), 2) for v in b] for b in (boxes or [])],
        "source": source,
    }
    if distance_threshold is not None:
        out["distance_threshold"] = distance_threshold
    return {**out, **extra}


@dataclass
class GoldStep:
    """One step of a converted episode: the screen it saw and what the human did."""

    png: bytes
    gold: dict[str, Any]
    scale: float = 1.0
    app: str | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def write_gold_episode(out: str | Path, meta: dict[str, Any], steps: list[GoldStep]) -> Path:
    """An episode whose steps executed their gold actions (a demonstration), so the viewer,
    ``agent eval`` and ``load_episode`` read it like any recording."""
    writer = EpisodeWriter(out, meta)
    try:
        for i, st in enumerate(steps):
            obs = Observation(png=st.png, scale=st.scale, app=st.app, url=st.url)
            frame = obs.frame(convention="screen")
            action = st.gold["action"]
            inputs: dict[str, Any] = {}
            for name in ("point", "start", "end"):
                if action.get(name) is not None:
                    try:
                        inputs[name] = list(screen_to_input(frame, *action[name]))
                    except CoordinateError as err:
                        inputs["error"] = str(err)
            line = {
                "index": i,
                "observation": obs.meta(),
                "screenshot": writer.save_screenshot(i, obs),
                "frame": frame.model_dump(),
                "raw": json.dumps(action),
                "actions": [
                    {
                        "action": action,
                        "input": inputs,
                        "result": {"terminated": action["type"] == "finish", "truncated": False},
                    }
                ],
                "gold": st.gold,
                **st.extra,
            }
            writer.write_step(line)
    except BaseException:
        writer.finish({"status": "error", "steps": writer.n_steps})
        raise
    writer.finish({"status": "demonstration", "steps": len(steps)})
    return Path(out)


def attach_gold(directory: str | Path, make: Any) -> int:
    """Rewrite ``steps.jsonl`` with ``gold = make(step)`` on each step where it is not None
    (atomically); returns how many steps got gold."""
    ep = load_episode(directory)
    if ep.torn_lines:
        raise RecordingError(f"{ep.dir} has a torn last line; not rewriting it")
    n = 0
    lines = []
    for step in ep.steps:
        gold = make(step)
        if gold is not None:
            step["gold"] = gold
            n += 1
        lines.append(json.dumps(step, ensure_ascii=False, default=str))
    _atomic_write(ep.dir / "steps.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    return n


def converter_main(
    doc: str | None,
    default_out: str,
    convert: Callable[[argparse.Namespace], list[Path]],
    argv: list[str] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """The command line shared by the dataset converters in tools/: FILES, --out, --limit
    (plus the converter's own flags); exit 1 when no episode could be written, 2 when an
    input cannot be read."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--limit", type=int)
    if add_arguments is not None:
        add_arguments(ap)
    args = ap.parse_args(argv)
    try:
        done = convert(args)
    except OSError as err:  # a missing or unreadable input: one line, not a traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{len(done)} episode(s) written under {args.out}", file=sys.stderr)
    return 0 if done else 1
