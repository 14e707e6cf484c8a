"""A judge: a model asked to pick one of numbered candidates (best-of-N).

:class:`Judge` wraps any :class:`~agent.core.model.Model` (``--judge MODEL``; ``scripted:FILE``
in tests). One request per choice: the prompt (:mod:`model.prompts.judge`) with the goal and
the numbered candidates, the screenshot of the moment (a step judge: the screen now; a run
judge: the common start screen), and ``constraint={"choice": ["0", "1", ...]}`` so a
vLLM-served judge can only answer a valid number. Other backends ignore the constraint, so
the answer is always read (:func:`read_index`): anything but one number in range — or an
error from the judge model — is a recorded judge failure and the verdict falls back to
candidate 0 (:data:`FALLBACK`), never to a guess. A verdict only chooses; it never judges
success.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.core.errors import ConfigError, NativeAgentError
from agent.core.model import Model, ModelRequest
from agent.core.observation import Observation
from model.parsers import convention_for, mode_for
from model.prompts.judge import PROMPTS, judge_prompt

FALLBACK = 0  # the candidate used when the judge's answer is not a valid number
# the whole answer is one number, optionally as "[2]", "2.", "#2", "candidate 2", "attempt 2"
_INDEX = re.compile(
    r"""^[\s\[("'*#]*(?:(?:candidate|attempt|run|option)\s*#?\s*)?(\d+)[\s\])"'*.:]*$""", re.I
)


def read_index(text: str, n: int) -> int | None:
    """The candidate number ``text`` answers (0 ≤ i < n), else None. Only a lone number is
    read: ``"2"``, ``"[2]"``, ``"candidate 2."``; ``"2 or 3"`` or prose around it is not."""
    m = _INDEX.match(text.strip())
    if not m:
        return None
    i = int(m.group(1))
    return i if 0 <= i < n else None


@dataclass
class Verdict:
    """One judge decision: ``index`` is the candidate used (the judge's, or :data:`FALLBACK`
    with ``fallback`` saying why)."""

    kind: str
    candidates: list[str]
    prompt: str
    raw: str | None
    index: int
    fallback: str | None = None
    latency_s: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
    judge: str = "judge"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "judge": self.judge,
            "kind": self.kind,
            "candidates": list(self.candidates),
            "prompt": self.prompt,
            "raw": self.raw,
            "index": self.index,
            "fell_back": self.fallback is not None,
            "latency_s": round(self.latency_s, 6),
        }
        if self.fallback is not None:
            out["fallback"] = self.fallback
        if self.usage:
            out["usage"] = dict(self.usage)
        return out


class Judge:
    """Asks ``model`` which of N candidates is best; see the module doc."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def describe(self) -> dict[str, Any]:
        return {"model": self.model.describe(), "prompts": dict(PROMPTS), "fallback": FALLBACK}

    def choose(
        self,
        goal: str,
        candidates: Sequence[str],
        observation: Observation,
        *,
        kind: str = "step",
        context: str | None = None,
    ) -> Verdict:
        """The judge's pick among ``candidates`` (at least two) for ``goal``, seen on
        ``observation``. Never raises for a bad answer or a failing judge model."""
        if kind not in PROMPTS:
            raise ConfigError(f"judge kind must be one of {', '.join(PROMPTS)}, got {kind!r}")
        if len(candidates) < 2:
            raise ConfigError("a judge needs at least two candidates to choose from")
        prompt = judge_prompt(goal, candidates, kind=kind, context=context)
        m = self.model
        frame = observation.frame(
            mode=m.input_mode or mode_for(m.format),
            max_tokens=m.max_tokens,
            convention=m.convention or convention_for(m.format),
        )
        choices = [str(i) for i in range(len(candidates))]
        request = ModelRequest(
            prompt, observation, m.plan_frame(observation, frame), constraint={"choice": choices}
        )
        name = getattr(m, "name", type(m).__name__)
        t0 = time.perf_counter()
        try:
            reply = m.act(request)
        except NativeAgentError as err:
            return Verdict(kind, list(candidates), prompt, None, FALLBACK,
                           f"the judge model failed ({err.code}): {err}",
                           time.perf_counter() - t0, judge=name)  # fmt: skip
        latency = time.perf_counter() - t0
        index = read_index(reply.text, len(candidates))
        why = None
        if index is None:
            why = f"the answer is not one number from 0 to {len(candidates) - 1}"
            index = FALLBACK
        return Verdict(kind, list(candidates), prompt, reply.text, index, why, latency,
                       dict(reply.usage), name)  # fmt: skip
