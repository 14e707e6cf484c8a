"""``ScriptedModel`` — a FAKE model that replays given outputs, one per step.

For tests and demos only: ``--model scripted:FILE`` where FILE is
``{"format": F, "outputs": [raw text, ...]}`` (as ``--planner scripted:FILE`` F may also be
``instructions``: :mod:`model.planner`). When the script runs out it answers a
``finish(failure)`` in the json format so an episode always ends.

An entry may be a list of strings: one step's samples for a best-of-N planner
(``--samples K``, :meth:`ScriptedModel.sample` returns the whole list); ``act`` answers its
first string. A plain string asked for K samples is K equal answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.core.model import Model, ModelReply, ModelRequest


def _entry_ok(entry: object) -> bool:
    if isinstance(entry, str):
        return True
    return isinstance(entry, list) and bool(entry) and all(isinstance(t, str) for t in entry)


class ScriptedModel(Model):
    """Replays ``outputs`` in order; ignores the screen. Clearly a fake."""

    name = "scripted"

    def __init__(
        self, outputs: list[str | list[str]], format: str = "json", *, source: str | None = None
    ):
        if not isinstance(outputs, list) or not all(_entry_ok(o) for o in outputs):
            raise ConfigError(
                "scripted model: 'outputs' must be a list of strings (or, for a planner's "
                "samples, non-empty lists of strings)"
            )
        self.outputs = list(outputs)
        self.format = format
        self.source = source
        self._i = 0
        self.exhausted = False
        self.seen: list[ModelRequest] = []  # what the loop sent (tests inspect it)

    @classmethod
    def from_file(cls, path: str | Path, *, planner: bool = False) -> ScriptedModel:
        """``planner``: a ``--planner scripted:FILE`` may also be ``"format": "instructions"``
        (OCR instructions, e.g. ``click \"Search\"``, grounded by ``--grounder``)."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise ConfigError(f"scripted model file not found: {p}") from err
        except json.JSONDecodeError as err:
            raise ConfigError(f"scripted model file {p} is not valid JSON: {err}") from err
        if not isinstance(data, dict) or "outputs" not in data:
            raise ConfigError(
                f'scripted model file {p} must be {{"format": F, "outputs": [text, ...]}}'
            )
        from model.parsers import FORMATS

        fmt = data.get("format", "json")
        if fmt == "instructions" and not planner:
            raise ConfigError(
                f'scripted model file {p}: "instructions" is a planner format; use '
                f"--planner scripted:{p} (with --grounder) instead of --model"
            )
        if fmt not in FORMATS and not (planner and fmt == "instructions"):
            raise ConfigError(
                f"scripted model file {p}: unknown format {fmt!r}; known: {', '.join(FORMATS)}"
            )
        return cls(data["outputs"], fmt, source=str(p))

    def _next(self, request: ModelRequest) -> str | list[str]:
        self.seen.append(request)
        if self._i >= len(self.outputs):
            self.exhausted = True
            if self.format in ("json", "instructions"):
                return '{"type": "finish", "status": "failure", "answer": "script exhausted"}'
            return ""  # the parser reports it; the loop ends on the step budget
        entry = self.outputs[self._i]
        self._i += 1
        return entry

    def act(self, request: ModelRequest) -> ModelReply:
        entry = self._next(request)
        return ModelReply(text=entry if isinstance(entry, str) else entry[0])

    def sample(self, request: ModelRequest, k: int) -> list[ModelReply]:
        """One step's ``k`` samples: a list entry as written, a string ``k`` times."""
        entry = self._next(request)
        texts = [entry] * k if isinstance(entry, str) else entry
        return [ModelReply(text=t) for t in texts]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "source": self.source, "outputs": len(self.outputs)}
