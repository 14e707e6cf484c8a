"""Replay a recorded episode in a live env and report where the live run diverges.

The recorded actions are fed to the normal loop by :class:`ReplayModel`, so the replay is
recorded like any episode (a new directory, with ``replay`` in its ``episode.json``).
Before each step the model compares the live screenshot with the one recorded for that
step (:func:`perceptual_diff`); the first step whose score exceeds the threshold is the
divergence. Then the replay stops (``call_user``), or — with a ``takeover`` model — that
model decides from the divergent step on, as in a normal run. A diverged step whose action was
grounded from a description (a planner episode) is first grounded again on the live screen,
and ``--var`` values replace recorded typed text (:mod:`agent.replay.reground`).

**The perceptual difference** (0 = identical, 1 = opposite): both screenshots become grey
(ITU-R 601 luma, 0–1), are box-averaged down so the long side is at most 320 px (this
removes anti-aliasing and sub-pixel noise), and the absolute difference is averaged over
16×16 tiles of the reduced image; the score is the **largest tile mean**, so a change
confined to one word counts as much as a page-wide shift. Screenshots of different sizes
score 1. The default threshold 0.03 tolerates a blinking caret or a moved mouse pointer
(≈ 0.01 in a tile) and flags a changed word or button (≥ 0.08 in its tile).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agent.core.coords import screen_to_model
from agent.core.env import Env, EnvSpec
from agent.core.errors import ConfigError
from agent.core.model import Model, ModelReply, ModelRequest
from agent.core.task import Task, TaskResult
from agent.episode.loop import LoopConfig
from agent.episode.recording import Episode, load_episode
from agent.episode.runner import recorded_spec, run_episode
from agent.episode.steps import StepRecord
from agent.replay.reground import (
    Regrounder,
    VarUse,
    bind_variables,
    described,
    descriptions,
    secret_names,
    summary,
)
from agent.safety.gate import Gate, make_gate
from agent.safety.policy import default_policy
from agent.safety.secrets import ENV_PREFIX, Secrets
from model.grounders.base import DescriptionGrounder
from model.parsers import convention_for, mode_for

DEFAULT_THRESHOLD = 0.03
SETTLE_WAITS = 4  # short waits (0.3 s, 0.4 s, ...) granted a lagging live page per step
MAX_SIDE = 320
TILE = 16


def _grey(rgb: np.ndarray) -> np.ndarray:
    a = rgb.astype(np.float32)
    return (0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]) / 255.0


def _reduce(grey: np.ndarray, factor: int) -> np.ndarray:
    h, w = (grey.shape[0] // factor) * factor, (grey.shape[1] // factor) * factor
    g = grey[:h, :w]
    return g.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def perceptual_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest 16×16-tile mean absolute grey difference after box-reducing both images to a
    long side ≤ 320 px (module docstring); 1.0 when the sizes differ."""
    if a.shape != b.shape:
        return 1.0
    factor = max(1, math.ceil(max(a.shape[0], a.shape[1]) / MAX_SIDE))
    d = np.abs(_reduce(_grey(a), factor) - _reduce(_grey(b), factor))
    if d.size == 0:
        return 0.0
    th, tw = math.ceil(d.shape[0] / TILE), math.ceil(d.shape[1] / TILE)
    pad = np.full((th * TILE, tw * TILE), np.nan, np.float32)
    pad[: d.shape[0], : d.shape[1]] = d
    tiles = np.nanmean(pad.reshape(th, TILE, tw, TILE).transpose(0, 2, 1, 3).reshape(th, tw, -1), 2)
    return float(np.max(tiles))


def load_png(path: Path) -> np.ndarray:
    with Image.open(io.BytesIO(path.read_bytes())) as im:
        return np.asarray(im.convert("RGB"))


def _to_frame(action: dict[str, Any], request: ModelRequest) -> dict[str, Any]:
    """A recorded action (screenshot px) in the convention of the loop's frame."""
    out = dict(action)
    frame = request.frame
    for name in ("point", "start", "end"):
        if out.get(name) is not None:
            out[name] = list(screen_to_model(frame, *out[name]))
    if out.get("box") is not None:
        x1, y1, x2, y2 = out["box"]
        out["box"] = [*screen_to_model(frame, x1, y1), *screen_to_model(frame, x2, y2)]
    return out


@dataclass
class StepComparison:
    index: int  # the recorded step
    score: float | None  # None: no recorded screenshot for this step
    diverged: bool
    step: int | None = None  # the replay episode's step where the comparison was final
    settle_waits: int = 0  # short waits spent letting the live page catch up
    reground: dict[str, Any] | None = None  # the step's target grounded again (reground.py)


class ReplayModel(Model):
    """Answers the recorded actions step by step while checking the live screen.

    Without ``takeover`` it speaks the plain-JSON format in screenshot px. With one, it
    adopts the takeover's input mode, token cap and coordinate convention from the start
    (recorded points are expressed in that convention through agent.core.coords), and its
    ``format`` becomes the takeover's once it hands over, since the loop parses each turn
    with the model's current ``format``.

    A live page can lag its recording (a request chain still running when the screenshot
    was taken), so a step over the threshold first gets up to ``settle_waits`` short
    ``wait`` actions — each observed through the loop like any step — before it counts as
    a divergence; the recording's cursor only moves when its actions are replayed.
    """

    name = "replay"

    def __init__(
        self,
        episode: Episode,
        *,
        takeover: Model | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        stop_on_divergence: bool = True,
        settle_waits: int = SETTLE_WAITS,
        regrounder: Regrounder | None = None,
        variables: Mapping[tuple[int, int], VarUse] | None = None,
    ) -> None:
        if not 0 < threshold <= 1:
            raise ConfigError(f"the divergence threshold must be in (0, 1], got {threshold}")
        self.episode = episode
        self.steps: dict[int, StepRecord] = {s.index: s for s in episode.records}
        self.n_steps = max(self.steps) + 1 if self.steps else 0
        self.takeover = takeover
        self.threshold = threshold
        self.stop_on_divergence = stop_on_divergence
        self.settle_waits = settle_waits
        self.regrounder = regrounder
        self.variables = dict(variables or {})
        self.stopped: str | None = None  # why the replay stopped short of the recording's end
        self.cursor = 0  # the next recorded step to replay
        self._waits = 0
        self.comparisons: list[StepComparison] = []
        self.first_divergence: int | None = None
        self.taken_over_at: int | None = None
        self.format = "json"  # the recording speaks plain JSON until a takeover
        if takeover is not None:
            self.input_mode = takeover.input_mode or mode_for(takeover.format)
            self.max_tokens = takeover.max_tokens
            self.convention = takeover.convention or convention_for(takeover.format)
            self.grid, self.min_pixels = takeover.grid, takeover.min_pixels  # its vision grid
        else:
            self.input_mode, self.convention = "pad", "screen"

    def compare(self, index: int, live: np.ndarray) -> StepComparison:
        path = self.episode.screenshot_path(index)
        step = self.steps.get(index)
        if step is not None:
            path = self.episode.dir / step.screenshot
        if not path.exists():
            return StepComparison(index, None, False)
        score = perceptual_diff(load_png(path), live)
        return StepComparison(index, round(score, 5), score > self.threshold)

    def act(self, request: ModelRequest) -> ModelReply:
        if self.taken_over_at is not None:
            assert self.takeover is not None
            return self.takeover.act(request)
        i = self.cursor
        step = request.history[-1].index + 1 if request.history else 0
        cmp: StepComparison | None = None
        if i < self.n_steps:
            cmp = self.compare(i, request.observation.array)
            if cmp.diverged and self._waits < self.settle_waits:
                self._waits += 1
                note = f"replay step {i}: difference {cmp.score:.4f}; letting the page settle"
                # distinct durations, so the loop's no-progress guard sees no repetition
                return self._reply(note, [{"type": "wait", "seconds": 0.2 + 0.1 * self._waits}])
            cmp.step, cmp.settle_waits, self._waits = step, self._waits, 0
            self.comparisons.append(cmp)
            if cmp.diverged and self.first_divergence is None:
                self.first_divergence = i
        step_rec = self.steps.get(i)
        diverged = cmp is not None and cmp.diverged
        rg = self.regrounder
        regrounds = bool(rg and step_rec and rg.wanted(diverged) and descriptions(step_rec))
        if (diverged and not regrounds) or i >= self.n_steps:
            if self.takeover is not None:
                return self._hand_over(i, request)
            if i >= self.n_steps:
                return self._reply("end of the recording", [_finish("end of the recording")])
            if self.stop_on_divergence:
                q = f"replay diverged at step {i} (difference {cmp.score:.4f})"  # type: ignore[union-attr]
                self.stopped = q
                return self._reply(q, [{"type": "call_user", "question": q}])
        self.cursor += 1
        actions = step_rec.executed_actions() if step_rec is not None else []
        trace: dict[str, Any] = {}
        uses = [u for (s, _), u in self.variables.items() if s == i]
        for u in uses:
            actions[u.action] = {**actions[u.action], "text": u.new}
        if uses:
            trace["variables"] = [u.to_json() for u in uses]
        if regrounds:
            assert rg is not None and step_rec is not None and cmp is not None
            actions, trace["reground"], failure = rg.apply(step_rec, actions, request.observation)
            cmp.reground = summary(trace["reground"])
            if failure is not None:
                self.stopped = q = f"replay step {i}: {failure}"
                if self.takeover is not None:
                    return self._hand_over(i, request, trace)
                return self._reply(q, [{"type": "call_user", "question": q}], trace)
        if not actions:
            actions = [{"type": "wait", "seconds": 0}]
        note = f"replay step {i}" + (f": difference {cmp.score:.4f}" if cmp and cmp.score else "")
        return self._reply(note, [_to_frame(a, request) for a in actions], trace)

    def _hand_over(
        self, i: int, request: ModelRequest, trace: dict[str, Any] | None = None
    ) -> ModelReply:
        assert self.takeover is not None
        self.taken_over_at = i
        self.format = self.takeover.format  # the loop parses the takeover's turns
        reply = self.takeover.act(request)
        if trace:  # why the replay handed over (a failed re-grounding), beside its own trace
            reply.trace = {**(reply.trace or {}), "replay": trace}
        return reply

    @staticmethod
    def _reply(
        thought: str, actions: list[dict[str, Any]], trace: dict[str, Any] | None = None
    ) -> ModelReply:
        body = json.dumps({"thought": thought, "actions": actions}, ensure_ascii=False)
        return ModelReply(body, trace=trace or None)

    def close(self) -> None:
        if self.takeover is not None:
            self.takeover.close()

    def describe(self) -> dict[str, Any]:
        out = {**super().describe(), "source": str(self.episode.dir)}
        if self.takeover is not None:
            out["takeover"] = self.takeover.describe()
        return out


def _finish(answer: str) -> dict[str, Any]:
    return {"type": "finish", "status": "failure", "answer": answer}


# ---- rebuilding the env and the task of a recording ----------------------------------------


def env_for(episode: Episode, name: str | None = None, **overrides: Any) -> Env:
    """The env the episode ran in: same kind, viewport and device scale factor."""
    from envs.registry import make_env

    spec = recorded_spec(episode.meta)
    kwargs = dict(spec.kwargs) if name in (None, spec.name) else {}
    name = name or spec.name
    first = episode.steps[0]["observation"] if episode.steps else {}
    viewport = (first.get("extra") or {}).get("viewport")
    if name in ("browser", "miniwob") and viewport and "viewport" not in kwargs:
        kwargs["viewport"] = list(viewport)  # a recording that kept no settings (converted)
        kwargs["dsf"] = float(first.get("scale", 1.0))
    return make_env(EnvSpec(name, kwargs), **overrides)


class _ReplayTask(Task):
    """The recorded task (or none), set up as recorded, then ``prepare`` (to alter the
    app before the replay, e.g. in tests); goal = the recorded goal."""

    def __init__(self, inner: Task | None, goal: str, url: str | None, prepare: Any) -> None:
        self.inner, self.goal, self.url, self.prepare = inner, goal, url, prepare
        self.id = getattr(inner, "id", None) or ""

    def setup(self, env: Env) -> None:
        if self.inner is not None:
            self.inner.setup(env)
        else:
            env.reset(url=self.url)
        if self.prepare is not None:
            self.prepare(env)

    def evaluate(self, env: Env) -> TaskResult:
        if self.inner is None:
            return TaskResult(success=False, details={"reason": "free-text task: no check"})
        return self.inner.evaluate(env)


def task_for(episode: Episode) -> Task | None:
    """The recorded task object: a bundled-site id, a MiniWoB++ task with its seed, or
    None for a free-text goal."""
    task = episode.meta.get("task", {})
    tid = task.get("id")
    if not tid:
        return None
    if tid.startswith("miniwob/"):
        from envs.miniwob import MiniWobTask

        seed = task.get("seed", episode.meta.get("bench", {}).get("seed", 0))
        return MiniWobTask(tid.split("/", 1)[1], int(seed))
    from envs.sites import get_task

    return get_task(tid)


# ---- the replay ---------------------------------------------------------------------------


@dataclass
class ReplayReport:
    source: str
    episode: str
    threshold: float
    steps: list[StepComparison] = field(default_factory=list)
    first_divergence: int | None = None
    taken_over_at: int | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    grounder: str | None = None  # the re-grounding grounder's spec (None: none was needed)
    reground: str = "diverged"
    variables: list[dict[str, Any]] = field(default_factory=list)  # each --var applied
    stopped: str | None = None  # why the replay stopped short (a divergence, a failed ground)

    @property
    def diverged(self) -> bool:
        return self.first_divergence is not None

    @property
    def recovered(self) -> bool:
        """Every diverged step was re-grounded and the replay went on to the end."""
        bad = [c for c in self.steps if c.diverged and not (c.reground or {}).get("ok")]
        return not bad and self.stopped is None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def replay_live(
    source: str | Path | Episode,
    *,
    env: Env | str | None = None,
    model: Model | str | None = None,
    out: str | Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    stop_on_divergence: bool = True,
    max_steps: int = 30,
    prepare: Callable[[Env], None] | None = None,
    secrets: Secrets | Mapping[str, str] | None = None,
    gate: Gate | None = None,
    grounder: str | DescriptionGrounder | None = None,
    reground: str = "diverged",
    variables: Mapping[str, str] | None = None,
    **env_overrides: Any,
) -> ReplayReport:
    """Re-execute a recorded episode live; see the module docstring.

    ``env``: an Env (kept open), an env name, or None (the recorded one); ``model``: the
    takeover model (spec or instance); ``max_steps``: the takeover's budget beyond the
    recording; ``prepare(env)`` runs after the task's setup (to alter the app on purpose);
    ``secrets``: the values of the ``{{secret:NAME}}`` placeholders the episode typed (a
    recording holds only the names), required before anything runs; ``gate``: the safety gate
    and URL policy every replayed and taken-over action passes (``agent replay`` builds it from
    the same flags as ``agent run``; None here: the built-in policy, nothing auto-confirmed).
    ``grounder`` (spec or instance; default the episode's recorded ``grounder``, else ``ocr``)
    and ``reground`` (``diverged`` | ``always`` | ``off``) re-ground described targets;
    ``variables`` (``--var NAME=VALUE``) replace recorded typed values — both checked before
    anything runs (:mod:`agent.replay.reground`).
    """
    episode = source if isinstance(source, Episode) else load_episode(source)
    if not episode.steps:
        raise ConfigError(f"{episode.dir} has no recorded steps to replay")
    sec = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
    uses = bind_variables(episode, variables or {})
    needed = set(episode.meta.get("secrets", {}).get("names", [])) | secret_names(uses)
    missing = sorted(needed - set(sec.names))
    if missing:
        fix = ", ".join(f"--secret {n}=… or {ENV_PREFIX}{n.upper()}" for n in missing)
        raise ConfigError(f"{episode.dir} typed secret(s) {', '.join(missing)}: give {fix}")
    regrounder, own_grounder = _regrounder(episode, grounder, reground)
    takeover = model
    own_takeover = isinstance(model, str)
    if isinstance(model, str):
        from model.registry import load_model

        takeover = load_model(model)
    rm = ReplayModel(
        episode,
        takeover=takeover,  # type: ignore[arg-type]
        threshold=threshold,
        stop_on_divergence=stop_on_divergence,
        regrounder=regrounder,
        variables=uses,
    )
    meta_task = episode.meta.get("task", {})
    task = _ReplayTask(task_for(episode), meta_task.get("goal") or "replay", None, prepare)
    task.url = episode.meta.get("env", {}).get("url")
    if isinstance(env, Env):
        env_obj, own_env = env, False
    else:
        env_obj, own_env = env_for(episode, env, **env_overrides), True
    n = rm.n_steps * (1 + SETTLE_WAITS)  # room for the settle waits
    cfg = LoopConfig(max_steps=n + (max_steps if takeover is not None else 0))
    if takeover is None:
        cfg.no_progress_k = cfg.max_steps + 1  # the recording decides, not the guard
        cfg.loop_nudges, cfg.stagnation = (), 0
    if out is None:
        out = episode.dir.with_name(episode.dir.name + "-replay")
        k = 1
        while out.exists():
            k += 1
            out = episode.dir.with_name(f"{episode.dir.name}-replay{k}")
    out_dir = Path(out)
    try:
        result = run_episode(
            env_obj,
            rm,
            out_dir,
            task=task,
            config=cfg,
            gate=gate if gate is not None else make_gate(default_policy()),
            secrets=sec,
            extra_meta={"replay": {"source": str(episode.dir)}},
        )
    finally:
        if own_takeover:
            rm.close()
        close = getattr(regrounder and regrounder.grounder, "close", None)
        if own_grounder and callable(close):
            close()
        if own_env:
            env_obj.close()
    report = ReplayReport(
        source=str(episode.dir),
        episode=str(out_dir),
        threshold=threshold,
        steps=rm.comparisons,
        first_divergence=rm.first_divergence,
        taken_over_at=rm.taken_over_at,
        outcome=sec.scrub(result.outcome()),  # the final URL / answer may hold a secret
        grounder=regrounder.spec if regrounder is not None else None,
        reground=reground,
        variables=[u.to_json() for u in uses.values()],
        stopped=rm.stopped,
    )
    _annotate(out_dir, report, sec)
    return report


def _regrounder(
    episode: Episode, grounder: str | DescriptionGrounder | None, mode: str
) -> tuple[Regrounder | None, bool]:
    """The re-grounder (and whether this replay owns its grounder): None when the mode is
    ``off`` or no recorded step was grounded from a description."""
    Regrounder.check_mode(mode)
    if mode == "off" or not described(episode):
        return None, False
    if grounder is None or isinstance(grounder, str):
        from model.grounders.registry import load_grounder

        spec = grounder or episode.meta.get("grounder") or "ocr"
        return Regrounder(load_grounder(spec), spec, mode), True
    return Regrounder(grounder, getattr(grounder, "name", type(grounder).__name__), mode), False


def _annotate(directory: Path, report: ReplayReport, secrets: Secrets) -> None:
    """Add the comparison to the replay's episode.json (written atomically, scrubbed)."""
    from agent.episode.recording import _atomic_write

    path = directory / "episode.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["replay"] = secrets.scrub(report.to_json())
    _atomic_write(path, json.dumps(meta, indent=2, default=str).encode("utf-8"))
