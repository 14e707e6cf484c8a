"""Recorded episodes → supervised samples, exactly as the model would have seen each step.

For each step with an action (its ``gold`` if the step has one, else what it executed) a
sample holds the conversation :func:`model.prompts.build_messages` builds for the target
family at inference — its system prompt and template, the same history window (older steps
as text or turns, the last ``history_images`` with their screenshots) — and, as the answer,
the action rendered in the family's output dialect and coordinate space
(:mod:`agent.export.render`). Images are written as the model is given them
(:func:`model.vision.to_model_image`: padded to multiples of 28, or resized when the Frame
says so). Recordings hold secrets as placeholders only, so samples do too.

Every sample is parsed back with our own parser before it is kept; a step whose rendering
does not give back the recorded action within 1 px is skipped and counted, never written.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agent.core.actions import Action, parse_action
from agent.core.coords import DEFAULT_MAX_TOKENS, FACTOR, Frame
from agent.core.errors import ConfigError, NativeAgentError
from agent.core.model import HistoryItem, Model, ModelRequest, history_window
from agent.core.observation import Observation
from agent.episode.recording import Episode, load_episode
from agent.evaluation.metrics import executed
from agent.evaluation.offline import find_episodes, observation_of
from agent.export.render import (
    UnsupportedAction,
    drops_clear,
    reachable,
    render,
    same_action,
    tolerance,
    turns,
)
from agent.safety.secrets import Secrets
from model.parsers import convention_for, frame_options, mode_for, parse
from model.prompts import Family, build_messages, get_family
from model.vision import to_model_image

MOBILE_TYPES = frozenset({"swipe", "long_press", "home", "back", "open_app"})
IMAGE_TOKEN = "<image>"


@dataclass
class ExportConfig:
    family: str
    history_images: int = Model.history_images
    history_steps: int = Model.history_steps
    history_block: int | None = None  # None: the family's (Profile.block)
    max_tokens: int = DEFAULT_MAX_TOKENS
    action_space: str = "auto"  # computer | mobile | auto (mobile when the actions say so)
    statuses: tuple[str, ...] = ("success",)
    tolerance_px: float = 1.0

    @property
    def fam(self) -> Family:
        return get_family(self.family)


@dataclass
class Sample:
    """One supervised sample: role/content messages with ``<image>`` marks, the images
    (paths relative to the export directory), and what it was made from."""

    messages: list[dict[str, str]]
    images: list[str]
    episode: str
    index: int
    actions: list[dict[str, Any]]
    frame: dict[str, Any]
    dialect: str = ""


@dataclass
class ExportStats:
    episodes: int = 0
    episodes_used: int = 0
    samples: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    split: Counter[str] = field(default_factory=Counter)  # steps exported as one call per turn

    def to_json(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "episodes_used": self.episodes_used,
            "samples": self.samples,
            "skipped": dict(self.skipped),
            "split": dict(self.split),
        }


def is_gold(ep: Episode) -> bool:
    return bool(ep.meta.get("gold")) or any(isinstance(s.get("gold"), dict) for s in ep.steps)


def wanted(ep: Episode, statuses: tuple[str, ...]) -> bool:
    """Successful (or the chosen statuses') episodes, and gold episodes, by default."""
    return ep.outcome.get("status") in statuses or "any" in statuses or is_gold(ep)


def step_actions(step: dict[str, Any]) -> list[Action]:
    gold = step.get("gold")
    if isinstance(gold, dict) and isinstance(gold.get("action"), dict):
        return [parse_action(gold["action"])]
    return [parse_action(a) for a in executed(step)]


def goal_of(ep: Episode) -> str:
    """The task text the model was given (with the placeholder note when secrets were set)."""
    goal = str(ep.meta.get("task", {}).get("goal") or "")
    names = ep.meta.get("secrets", {}).get("names") or []
    if names:  # the note lists placeholders only; the stand-in values never leave here
        goal += Secrets({n: "x" * 8 for n in names}).prompt_note()
    return goal


def action_space_of(actions: list[list[Action]], setting: str) -> str:
    if setting != "auto":
        return setting
    return "mobile" if any(a.type in MOBILE_TYPES for acts in actions for a in acts) else "computer"


class Exporter:
    """Turns episodes into samples for one family; writes images under ``out/images``."""

    def __init__(self, cfg: ExportConfig, out: Path) -> None:
        self.cfg, self.out = cfg, out
        self.fam = cfg.fam
        self.stats = ExportStats()
        if cfg.history_images < 0 or cfg.history_steps < 0:
            raise ConfigError("history window sizes must be ≥ 0")
        self.block = self.fam.block(cfg.history_block, cfg.history_images)

    def dialect(self, action_space: str) -> str:
        """The output format the family writes in this action space."""
        return self.fam.format_for(action_space)

    def frame_for(self, obs: Observation, fmt: str) -> Frame:
        """How the model would be given ``obs`` (the loop's frame planning)."""
        return obs.frame(
            mode=mode_for(fmt),
            max_tokens=self.cfg.max_tokens,
            convention=convention_for(fmt),
            **frame_options(fmt, factor=self.fam.grid, min_pixels=self.fam.min_pixels),
        )

    def episodes(self, roots: list[Path]) -> list[Sample]:
        dirs: list[Path] = []
        for root in roots:
            dirs += find_episodes(root)
        samples: list[Sample] = []
        for d in dirs:
            self.stats.episodes += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a torn last line is skipped anyway
                ep = load_episode(d)
            if not wanted(ep, self.cfg.statuses):
                self.stats.skipped[f"episode status {ep.outcome.get('status')}"] += 1
                continue
            got = self.episode(ep)
            self.stats.episodes_used += bool(got)
            samples += got
        self.stats.samples = len(samples)
        return samples

    def episode(self, ep: Episode) -> list[Sample]:
        goal = goal_of(ep)
        steps = [s for s in ep.steps if "index" in s]
        acts = []
        for s in steps:
            try:
                acts.append(step_actions(s))
            except ValueError:  # a recorded action that no longer validates
                acts.append([])
        space = action_space_of(acts, self.cfg.action_space)
        fmt = self.dialect(space)
        history: list[HistoryItem] = []
        samples: list[Sample] = []
        name = ep.dir.name
        files: dict[int, int] = {}  # id(screenshot) → its step: the image file's name
        extra = 0  # turns beyond one per step so far (steps split into one call per turn)
        for step, actions in zip(steps, acts, strict=True):
            if not actions:
                self.stats.skipped["step without an executed action"] += 1
                continue
            try:
                obs = observation_of(ep, step)
            except NativeAgentError:
                self.stats.skipped["screenshot missing"] += 1
                continue
            frame = self.frame_for(obs, fmt)
            files[id(obs)] = int(step["index"])
            for k, (part, target) in enumerate(
                self._targets(actions, frame, fmt, step.get("thought"), space)
            ):
                # a step split into turns is as many steps of the loop, numbered on
                turn = int(step["index"]) + extra + k
                if target is not None:
                    window = self._window(history)
                    req = ModelRequest(goal, obs, frame, window)
                    messages = build_messages(
                        req,
                        self.fam,
                        history_images=self.cfg.history_images,
                        history_block=self.block,
                        action_space=space,
                    )
                    sample = self._sample(messages, target, name, step, part, frame, files)
                    sample.dialect = fmt
                    samples.append(sample)
                raw = target or json.dumps(
                    [a.model_dump(mode="json", exclude_none=True) for a in part]
                )
                # the history item keeps the step's screenshot; the window drops it when old
                history.append(HistoryItem(turn, raw, None, _step_error(step), obs, frame))
                shown = {id(h) for h in self._split(history)[1]}
                for old in history:  # outside every later window: free its pixels
                    if id(old) not in shown:
                        old.observation = None
            extra += k
        return samples

    def _targets(
        self, actions: list[Action], frame: Frame, fmt: str, thought: str | None, space: str
    ) -> list[tuple[list[Action], str | None]]:
        """The answers one step is trained as: its rendering, or — where inference would stop
        before that rendering ends (a ``type`` at a point as two ``<tool_call>`` blocks, and
        generation stops at the first), or where the dialect would drop a ``type``'s
        ``clear`` — one turn per call (:func:`~agent.export.render.turns`), each seeing the
        step's screenshot and the earlier calls in its history. None: not a sample."""
        target = self._render(actions, frame, fmt, thought, space)
        whole = not drops_clear(actions, fmt)
        if target is None or (whole and reachable(target, fmt, frame)):
            return [(actions, target)]
        parts = turns(actions)
        texts = [
            self._render(p, frame, fmt, thought if k == 0 else None, space)
            for k, p in enumerate(parts)
        ]
        if any(t is None or not reachable(t, fmt, frame) for t in texts):
            self.stats.skipped[f"not one call per answer in {fmt}"] += 1
            return [(actions, None)]
        self.stats.split[fmt] += 1
        return list(zip(parts, texts, strict=True))

    def _render(
        self, actions: list[Action], frame: Frame, fmt: str, thought: str | None, space: str
    ) -> str | None:
        """The dialect's text for ``actions`` if it parses back to them, else None (counted)."""
        try:
            target = render(actions, frame, fmt, thought=thought, action_space=space)
        except UnsupportedAction as err:
            self.stats.skipped[f"not expressible in {fmt}: {err}"[:120]] += 1
            return None
        if why := self._round_trip(actions, target, frame, fmt):
            self.stats.skipped[f"round trip failed: {why}"[:120]] += 1
            return None
        return target

    def _round_trip(self, actions: list[Action], text: str, frame: Frame, fmt: str) -> str | None:
        try:
            parsed = parse(fmt, text, frame)
        except NativeAgentError as err:
            return f"does not parse: {err}"
        return same_action(actions, parsed.actions, fmt, tolerance(frame, self.cfg.tolerance_px))

    def _window(self, history: list[HistoryItem]) -> list[HistoryItem]:
        """The loop's window (:meth:`agent.episode.loop.Loop._window`, both
        :func:`agent.core.model.history_window`): copies of its items, screenshots only on
        those it shows."""
        items, shown = self._split(history)
        keep = {id(h) for h in shown}
        window = []
        for h in items:
            with_image = id(h) in keep
            window.append(
                HistoryItem(
                    h.index,
                    h.raw,
                    h.action,
                    h.error,
                    h.observation if with_image else None,
                    h.frame,
                )
            )
        return window

    def _split(self, history: list[HistoryItem]) -> tuple[list[HistoryItem], list[HistoryItem]]:
        cfg = self.cfg
        steps, images = cfg.history_steps, cfg.history_images
        return history_window(history, steps=steps, images=images, block=self.block)

    def _image(self, episode: str, index: int, obs: Observation, frame: Frame) -> str:
        rel = Path("images") / episode / f"{index:04d}.png"
        path = self.out / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            image = Image.fromarray(np.asarray(to_model_image(obs.array, frame)))
            image.save(path, compress_level=1)
        return rel.as_posix()

    def _sample(
        self,
        messages: list[dict[str, Any]],
        target: str,
        episode: str,
        step: dict[str, Any],
        actions: list[Action],
        frame: Frame,
        index_of: dict[int, int],
    ) -> Sample:
        out: list[dict[str, str]] = []
        images: list[str] = []
        for m in messages:
            content = m["content"]
            if isinstance(content, str):
                text = content
            else:
                chunks = []
                for part in content:
                    if part["type"] == "text":
                        chunks.append(part["text"])
                    else:
                        ip = part["image"]
                        idx = index_of[id(ip.observation)]
                        images.append(self._image(episode, idx, ip.observation, ip.frame))
                        chunks.append(IMAGE_TOKEN)
                text = "\n".join(chunks)
            if out and out[-1]["role"] == m["role"]:  # loaders want strict alternation
                out[-1]["content"] += "\n" + text
            else:
                out.append({"role": m["role"], "content": text})
        out.append({"role": "assistant", "content": target})
        acts = [a.model_dump(mode="json", exclude_none=True) for a in actions]
        return Sample(out, images, episode, int(step["index"]), acts, frame.model_dump())


def _step_error(step: dict[str, Any]) -> str | None:
    if step.get("error"):
        return str(step["error"])
    for a in step.get("actions", []):
        err = a.get("error") or a.get("result", {}).get("error")
        if err:
            return str(err)
    return None


def pixel_budget(max_tokens: int) -> int:
    """Pixels of model input the token cap allows (what loaders call image_max_pixels)."""
    return max_tokens * FACTOR * FACTOR
