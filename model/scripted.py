"""``ScriptedModel`` — a FAKE model that replays given outputs, one per step.

For tests and demos only: ``--model scripted:FILE`` where FILE is
``{"format": F, "outputs": [raw text, ...]}`` (as ``--planner scripted:FILE`` F may also be
``instructions``: :mod:`model.planner`). When the script runs out it answers a
``finish(failure)`` in the json format so an episode always ends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.core.model import Model, ModelReply, ModelRequest


class ScriptedModel(Model):
    """Replays ``outputs`` in order; ignores the screen. Clearly a fake."""

    name = "scripted"

    def __init__(self, outputs: list[str], format: str = "json", *, source: str | None = None):
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            raise ConfigError("scripted model: 'outputs' must be a list of strings")
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

    def act(self, request: ModelRequest) -> ModelReply:
        self.seen.append(request)
        if self._i >= len(self.outputs):
            self.exhausted = True
            if self.format in ("json", "instructions"):
                text = '{"type": "finish", "status": "failure", "answer": "script exhausted"}'
            else:
                text = ""  # the parser reports it; the loop ends on the step budget
            return ModelReply(text=text)
        text = self.outputs[self._i]
        self._i += 1
        return ModelReply(text=text)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "source": self.source, "outputs": len(self.outputs)}
