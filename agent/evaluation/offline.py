"""Offline re-scoring: replay each recorded step's screenshot to a model and score its
action against the gold, without any live env (Mind2Web / AndroidControl-style).

Each step's PNG is read from disk into an :class:`~agent.core.env.Observation` with the
recorded scale, offset and rotation, so the model gets the same :class:`Frame` it would
get live. The history is **teacher-forced**: the previous steps' gold actions (as JSON),
with the screenshots of the last ``history_images`` of them — never the model's own earlier
predictions, so one wrong step does not derail the rest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from agent.core.actions import dump_action
from agent.core.errors import ParseError, RecordingError
from agent.core.model import HistoryItem, Model, ModelRequest
from agent.core.observation import Observation
from agent.episode.recording import Episode, load_episode
from agent.evaluation.metrics import StepScore, aggregate, gold_of, score_step
from model.parsers import convention_for, frame_options, mode_for, parse


def find_episodes(root: str | Path) -> list[Path]:
    """``root`` itself if it is an episode, else every episode directory below it."""
    root = Path(root)
    if (root / "episode.json").exists():
        return [root]
    found = sorted(p.parent for p in root.rglob("episode.json"))
    if not found:
        raise RecordingError(f"no episodes (episode.json) under {root}")
    return found


def observation_of(episode: Episode, step: dict[str, Any]) -> Observation:
    """The step's screenshot from disk, with the geometry it was recorded with."""
    name = step.get("screenshot") or f"{int(step['index']):04d}.png"
    path = episode.dir / name
    try:
        png = path.read_bytes()
    except OSError as err:
        raise RecordingError(f"step {step.get('index')}: cannot read {path}: {err}") from err
    o = step.get("observation", {})
    offset = o.get("offset") or (0.0, 0.0)
    return Observation(
        png=png,
        scale=float(o.get("scale", 1.0)),
        offset=(float(offset[0]), float(offset[1])),
        rotation=int(o.get("rotation", 0)),  # type: ignore[arg-type]
        url=o.get("url"),
        title=o.get("title"),
        app=o.get("app"),
        last_action_error=o.get("last_action_error"),
        extra=o.get("extra"),
    )


def rescore_episode(
    episode: Episode,
    model: Model,
    *,
    history_images: int = 2,
    history_steps: int = 20,
    step_instructions: bool = False,
    on_step: Callable[[StepScore], None] | None = None,
) -> list[StepScore]:
    """Score ``model`` on every step of ``episode`` that has a gold action. With
    ``step_instructions``, a step's own ``instruction`` (AndroidControl's low-level
    setting) replaces the episode goal as the task text."""
    goal = episode.meta.get("task", {}).get("goal") or ""
    mode = model.input_mode or mode_for(model.format)
    convention = model.convention or convention_for(model.format)
    grid = frame_options(model.format, factor=model.grid, min_pixels=model.min_pixels)
    history: list[HistoryItem] = []
    scores: list[StepScore] = []
    for record in sorted(episode.records, key=lambda s: s.index):
        step = record.line
        gold = gold_of(step)
        if gold is None:
            continue
        obs = observation_of(episode, step)
        frame = obs.frame(mode=mode, max_tokens=model.max_tokens, convention=convention, **grid)
        window = history[-history_steps:]
        for h in history[:-history_images] if history_images else history:
            h.observation = None  # only the last few screenshots go to the model
        t0 = time.perf_counter()
        task = (step.get("instruction") if step_instructions else None) or goal
        reply = model.act(ModelRequest(task, obs, frame, window))
        seconds = time.perf_counter() - t0
        pred, error = None, None
        try:
            parsed = parse(model.format, reply.text, frame, convention=convention)
            pred = dump_action(parsed.actions[0])
        except ParseError as err:
            error = str(err)
        s = score_step(pred, gold, obs.size, episode=str(episode.dir), index=int(step["index"]))
        s.parse_error, s.raw = error, reply.text
        s.extra = {
            "screenshot": step.get("screenshot"),
            "size": list(obs.size),
            "model_s": round(seconds, 4),
            "executed": _rounded(record.executed_point),
        }
        scores.append(s)
        if on_step:
            on_step(s)
        history.append(
            HistoryItem(
                int(step["index"]),
                json.dumps(gold["action"]),
                gold["action"],
                step.get("observation", {}).get("last_action_error"),
                obs,
                frame,
            )
        )
    return scores


def _rounded(p: tuple[float, float] | None) -> list[float] | None:
    return None if p is None else [round(p[0], 2), round(p[1], 2)]


def evaluate(
    episodes: Iterable[str | Path],
    model: Model,
    *,
    history_images: int = 2,
    step_instructions: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Re-score every episode; returns the report (metrics + per-step scores) as JSON."""
    from agent.suites.parallel import Progress

    dirs = [p for root in episodes for p in find_episodes(root)]
    loaded = [load_episode(d) for d in dirs]
    total = sum(1 for ep in loaded for s in ep.steps if gold_of(s) is not None)
    all_scores: list[StepScore] = []
    per_episode: list[dict[str, Any]] = []
    with Progress(total, "eval", progress) as bar:
        for ep in loaded:
            scores = rescore_episode(
                ep,
                model,
                history_images=history_images,
                step_instructions=step_instructions,
                on_step=lambda s: bar.update(),
            )
            all_scores.extend(scores)
            per_episode.append(
                {
                    "dir": str(ep.dir),
                    "goal": ep.meta.get("task", {}).get("goal"),
                    "task_id": ep.meta.get("task", {}).get("id"),
                    "success": bool(scores) and all(s.success for s in scores),
                    "steps": [s.to_json() for s in scores],
                }
            )
    return {
        "kind": "native-agent/eval-report",
        "created_at": time.time(),
        "model": model.describe(),
        "settings": {"history_images": history_images, "step_instructions": step_instructions},
        "metrics": aggregate(all_scores),
        "episodes": per_episode,
    }
