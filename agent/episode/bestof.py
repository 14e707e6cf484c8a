"""Best-of-N over whole episodes: N runs from the same start, a judge over their narrations.

Each run is an ordinary episode (its own directory, its own task check). Afterwards every
run is told as text by :func:`narrate` — step by step, the action, its target, what went
wrong, how the agent ended — and a :class:`~model.judge.Judge` picks one (``kind="run"``;
the screenshot is the common start screen). The verdict is recorded *beside* the runs:
``best_of.json`` in the parent directory, and a ``judge`` section added to each run's
``episode.json``. The judge never sees the task's own check, and nothing it says changes a
run's recorded ``outcome``: the picked run is reported as picked, not as successful.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.core.errors import ConfigError, RecordingError
from agent.core.observation import Observation
from agent.episode.recording import Episode, _atomic_write, load_episode
from model.judge import Judge, Verdict

RECORD = "best_of.json"
_CUT = 80  # characters of any one text in a narration


def _cut(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _CUT else text[: _CUT - 1] + "…"


def _say(action: Mapping[str, Any]) -> str:
    """One action in words: its type and what it names (a target before a point)."""
    kind = str(action.get("type", "?"))
    if kind == "finish":
        said = f"finish ({action.get('status', 'success')})"
        return said + (f': "{_cut(action["answer"])}"' if action.get("answer") else "")
    if kind == "call_user":
        return f'call_user: "{_cut(action.get("question", ""))}"'
    parts = [kind]
    if action.get("target"):
        parts.append(_cut(action["target"]))
    elif "point" in action:
        parts.append("at ({:.0f}, {:.0f})".format(*action["point"]))
    if action.get("text") is not None and kind == "type":
        parts.append(f'"{_cut(action["text"])}"')
    for key in ("keys", "url", "direction"):
        if action.get(key):
            parts.append(_cut(action[key]))
    return " ".join(parts)


def narrate(steps: Sequence[Mapping[str, Any]], outcome: Mapping[str, Any]) -> str:
    """A run told as text, one line per step and one for the end: what the judge reads.

    Pure: the step lines and the outcome as recorded. A step says its action(s) with their
    target or point, an action's error, a step-level error (an unreadable answer), a planner
    step that did nothing and why, and a screen the action left unchanged. The end line says
    how the *agent* ended (its own status and answer) — never the task's check."""
    lines = []
    for n, step in enumerate(steps):
        said = []
        for rec in step.get("actions") or []:
            text = _say(rec.get("action") or {})
            err = rec.get("error") or (rec.get("result") or {}).get("error")
            said.append(text + (f" (failed: {_cut(err)})" if err else ""))
        trace = step.get("trace") or {}
        if trace.get("feedback_out"):
            said = [f"nothing done: {_cut(trace['feedback_out'])}"]
        if step.get("error") and not said:
            said.append(f"answer not understood: {_cut(step['error'])}")
        line = f"{n + 1}. " + ("; ".join(said) or "(no action)")
        if (step.get("check") or {}).get("result") == "no_change" and not trace.get("feedback_out"):
            line += " [screen unchanged]"
        lines.append(line)
    ended = outcome.get("model_status") or outcome.get("status", "?")
    end = f"Ended: {ended} after {outcome.get('steps', len(steps))} step(s)"
    if outcome.get("answer"):
        end += f'; answer: "{_cut(outcome["answer"])}"'
    if outcome.get("error") and "evaluation" not in outcome:
        end += f"; error: {_cut(outcome['error'])}"
    return "\n".join([*lines, end])


@dataclass
class BestOfRuns:
    """The runs, the judge's verdict, the run used (``picked``) and the record written."""

    runs: list[Episode]
    verdict: Verdict
    record: dict[str, Any]

    @property
    def picked(self) -> Episode:
        return self.runs[self.verdict.index]


def start_observation(episode: Episode) -> Observation:
    """The start screen the runs share: the first run's first screenshot (its recorded
    scale), else a blank one (a run that never captured a screen)."""
    path = episode.screenshot_path(0)
    scale = float(((episode.steps[0] if episode.steps else {}).get("observation") or {}).get(
        "scale", 1.0))  # fmt: skip
    if path.exists():
        return Observation(png=path.read_bytes(), scale=scale)
    return Observation(array=np.full((8, 8, 3), 255, np.uint8))


def _add_judge(directory: Path, section: dict[str, Any]) -> None:
    """Add ``judge`` to a run's episode.json, every other byte of its content unchanged."""
    path = directory / "episode.json"
    try:
        meta = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise RecordingError(f"cannot add the judge's verdict to {path}: {err}") from err
    meta["judge"] = section
    _atomic_write(path, json.dumps(meta, indent=2, default=str).encode("utf-8"))


def judge_runs(
    runs: Sequence[Episode],
    judge: Judge,
    out: str | Path,
    *,
    scrub: Callable[[Any], Any] = lambda x: x,
) -> BestOfRuns:
    """Judge finished ``runs`` (≥ 2, one goal) and record the verdict beside them:
    ``out/best_of.json`` and each run's ``episode.json`` ``judge`` section."""
    if len(runs) < 2:
        raise ConfigError("best-of-N over runs needs at least two runs (--runs N ≥ 2)")
    out = Path(out)
    goal = str((runs[0].meta.get("task") or {}).get("goal") or "")
    told = [narrate(ep.steps, ep.outcome) for ep in runs]
    verdict = judge.choose(goal, told, start_observation(runs[0]), kind="run")
    entries = []
    for i, ep in enumerate(runs):
        entries.append({
            "run": i,
            "dir": _rel(ep.dir, out),
            "status": ep.outcome.get("status"),
            "success": ep.success,  # the task's own check, as recorded in the run
            "outcome": ep.outcome,
            "narration": told[i],
            "picked": i == verdict.index,
        })  # fmt: skip
    picked = runs[verdict.index]
    record = scrub({
        "goal": goal,
        "runs": entries,
        "picked": verdict.index,
        "picked_dir": _rel(picked.dir, out),
        "picked_success": picked.success,  # the picked run's own recorded success
        "judge": {**verdict.to_json(), "model": judge.model.describe()},
    })  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / RECORD, json.dumps(record, indent=2, default=str).encode("utf-8"))
    for i, ep in enumerate(runs):
        _add_judge(ep.dir, {
            "best_of": str(Path(_rel(out, ep.dir)) / RECORD),
            "run": i,
            "runs": len(runs),
            "picked": i == verdict.index,
            "judge_index": verdict.index,
            "fell_back": verdict.fallback is not None,
        })  # fmt: skip
    return BestOfRuns([load_episode(ep.dir) for ep in runs], verdict, record)


def best_of_runs(
    run_one: Callable[[int, Path], Episode],
    n: int,
    judge: Judge,
    out: str | Path,
    *,
    scrub: Callable[[Any], Any] = lambda x: x,
) -> BestOfRuns:
    """``n`` runs of ``run_one(i, out/run-<i+1>)`` (each a fresh env from the same spec and
    task setup), then :func:`judge_runs`."""
    if n < 2:
        raise ConfigError(f"--runs must be ≥ 2 for a judge to choose, got {n}")
    out = Path(out)
    runs = [run_one(i, out / f"run-{i + 1}") for i in range(n)]
    return judge_runs(runs, judge, out, scrub=scrub)


def _rel(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(Path(path).resolve(), Path(start).resolve())
