"""What a replay changes in a recorded step: targets re-grounded, typed values replaced.

**Re-grounding.** A planner episode (``agent run --planner P --grounder G``) records, beside
each pointer action, the description it grounded (the action's ``target``, or the step
trace's ``description`` for a ``type "X" into "Y"`` field). When a replayed step with such a
description *diverged* from its recording (the perceptual check in :mod:`agent.replay.live`,
after the settle waits), the description is grounded again on the live screenshot and the
action executes at the new point; a step whose screen still matches keeps its recorded point
(no grounder call, the recording's exact behaviour). Mode ``always`` re-grounds every described
step; ``off`` never does (a diverged step then stops the replay as before). The grounder's
tie-break point (``near``, OCR) is the recorded point: of equal matches, the one nearest to
where the element was wins. A :class:`~model.grounders.base.GroundingFailure` never clicks: the
replay stops at that step (or the takeover model decides from there) and the step line says
why.

**Variables** (``--var NAME=VALUE``) replace what a recorded ``type`` action typed. ``NAME`` is
either the recorded text itself (``--var BOS=SFO``: the step that typed ``BOS`` types ``SFO``)
or ``step<N>`` (the text typed at recorded step N, as listed by ``agent replay``). A text typed
at several steps, or a step that typed several texts, is ambiguous: name the other form. A
secret (``{{secret:NAME}}``) is never a variable — give its value with ``--secret``; a VALUE may
itself be a placeholder, resolved like any recorded one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent.core.errors import ConfigError
from agent.core.observation import Observation
from agent.episode.recording import Episode
from agent.episode.steps import StepRecord
from agent.safety.secrets import PLACEHOLDER
from model.grounders.base import DescriptionGrounder, Grounded

REGROUND_MODES = ("diverged", "always", "off")
_STEP_NAME = re.compile(r"^step(\d+)$")


# ---- variables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VarUse:
    """One ``--var``: recorded step ``step``'s action ``action`` types ``new`` for ``old``."""

    name: str
    step: int
    action: int
    old: str
    new: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "step": self.step, "old": self.old, "new": self.new}


def typed_values(episode: Episode) -> list[tuple[int, int, str]]:
    """(recorded step, action index, text) of every executed ``type`` that typed no secret."""
    out = []
    for rec in episode.records:
        for k, action in enumerate(rec.executed_actions()):
            text = action.get("text")
            if action.get("type") != "type" or not isinstance(text, str):
                continue
            if not PLACEHOLDER.search(text):
                out.append((rec.index, k, text))
    return out


def variable_names(episode: Episode) -> list[str]:
    """The ``--var`` names this episode offers (each unambiguous one), in step order."""
    typed = typed_values(episode)
    names: list[str] = []
    for step, _, text in typed:
        if sum(t == text for _, _, t in typed) == 1 and text not in names:
            names.append(text)
        if sum(s == step for s, _, _ in typed) == 1:
            names.append(f"step{step}")
    return names


def bind_variables(episode: Episode, variables: Mapping[str, str]) -> dict[tuple[int, int], VarUse]:
    """Each ``NAME=VALUE`` bound to the one recorded ``type`` it replaces; ConfigError (listing
    the names this episode offers) for an unknown, ambiguous or secret NAME."""
    typed = typed_values(episode)
    bound: dict[tuple[int, int], VarUse] = {}
    for name, value in variables.items():
        if not isinstance(value, str):
            raise ConfigError(f"--var {name}: the value must be text")
        m = _STEP_NAME.match(name)
        hits = [t for t in typed if (t[0] == int(m.group(1)) if m else t[2] == name)]
        if len(hits) != 1:
            if PLACEHOLDER.search(name) or (m and _typed_secret(episode, int(m.group(1)))):
                why = "names a secret: give its value with --secret NAME=VALUE, not --var"
            elif hits:
                where = ", ".join(f"step{s}" for s, _, _ in hits)
                why = f"is ambiguous ({len(hits)} typed values: {where}); name one step<N>"
            else:
                why = "is not a value this episode typed"
            offered = ", ".join(repr(n) for n in variable_names(episode)) or "none"
            raise ConfigError(f"--var {name!r} {why}; this episode offers: {offered}")
        step, k, old = hits[0]
        if (step, k) in bound:
            other = bound[(step, k)].name
            raise ConfigError(f"--var {name!r} and --var {other!r} name the same typed value")
        bound[(step, k)] = VarUse(name, step, k, old, value)
    return bound


def _typed_secret(episode: Episode, step: int) -> bool:
    rec = next((r for r in episode.records if r.index == step), None)
    actions = rec.executed_actions() if rec is not None else []
    return any(PLACEHOLDER.search(str(a.get("text") or "")) for a in actions)


def secret_names(uses: Mapping[tuple[int, int], VarUse]) -> set[str]:
    """The secrets the replacement values name (they must be given like recorded ones)."""
    return {m.group(1) for u in uses.values() for m in PLACEHOLDER.finditer(u.new)}


# ---- re-grounding -------------------------------------------------------------------------


def descriptions(step: StepRecord) -> dict[int, str]:
    """Action index → the description its point was grounded from (pointed actions only)."""
    trace = step.line.get("trace") or {}
    planned = trace.get("description") if (trace.get("grounding") or {}).get("ok") else None
    out: dict[int, str] = {}
    for k, action in enumerate(step.executed_actions()):
        if action.get("point") is None:
            continue
        desc = action.get("target") if isinstance(action.get("target"), str) else None
        if desc is None and isinstance(planned, str) and planned not in out.values():
            desc = planned
        if desc:
            out[k] = desc
    return out


def described(episode: Episode) -> bool:
    return any(descriptions(r) for r in episode.records)


class Regrounder:
    """Grounds recorded descriptions again on the live screen (module docstring)."""

    def __init__(self, grounder: DescriptionGrounder, spec: str, mode: str = "diverged") -> None:
        self.check_mode(mode)
        self.grounder, self.spec, self.mode = grounder, spec, mode

    @staticmethod
    def check_mode(mode: str) -> None:
        if mode not in REGROUND_MODES:
            modes = ", ".join(REGROUND_MODES)
            raise ConfigError(f"--reground must be one of {modes}, not {mode!r}")

    def wanted(self, diverged: bool) -> bool:
        return self.mode == "always" or (self.mode == "diverged" and diverged)

    def apply(
        self, step: StepRecord, actions: list[dict[str, Any]], obs: Observation
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
        """(actions with new points, one record per re-grounding, failure reason or None).
        On a failure the step must not run: the caller stops or hands over."""
        records: list[dict[str, Any]] = []
        out: list[dict[str, Any]] = []
        wanted = descriptions(step)
        for k, action in enumerate(actions):
            desc = wanted.get(k)
            if desc is None:
                out.append(action)
                continue
            old = action.get("point")
            if hasattr(self.grounder, "near"):
                self.grounder.near = (float(old[0]), float(old[1])) if old else None
            g = self.grounder.ground(obs, desc)
            rec: dict[str, Any] = {
                "action": k,
                "description": desc,
                "grounder": self.spec,
                "old_point": old,
                "grounding": g.to_json(),
            }
            records.append(rec)
            if not isinstance(g, Grounded):
                return out, records, f"could not re-find {desc} ({g.reason}); nothing was pressed"
            rec["new_point"] = [g.point[0], g.point[1]]
            moved = {**action, "point": rec["new_point"]}
            moved.pop("box", None)
            if g.box is not None:
                moved["box"] = list(g.box)
            out.append(moved)
        return out, records, None


def summary(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The report's short form of a step's re-groundings (the step line keeps them whole)."""
    if not records:
        return None
    last = records[-1]
    short = {k: last.get(k) for k in ("description", "grounder", "old_point", "new_point")}
    short["ok"] = bool(last["grounding"].get("ok"))
    if not short["ok"]:
        short["reason"] = last["grounding"].get("reason")
    if len(records) > 1:
        short["count"] = len(records)
    return short
