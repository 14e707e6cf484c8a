"""The optional model step check: after each step a checker model says whether the action
did what it was meant to — ``success``, ``wrong_page`` or ``no_change`` — and after
``replan_after`` bad outcomes in a row the acting model is told to re-plan (feedback).

The checker is any :class:`~agent.core.model.Model` (``--checker MODEL``; a scripted one in
tests). It gets one request: the task text is :data:`PROMPT` filled with the goal, the action
and the free pixel check's finding; the screenshot is the screen after the action. Its answer
must name exactly one outcome (the word, or the letter A / B / C); anything else is recorded
as ``unknown`` and counts as neither good nor bad. The prompt, the raw answer, the outcome
and the latency are recorded in the step line's ``checker``. The check only advises: it never
ends an episode, and never changes the recorded success.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from agent.core.errors import ConfigError
from agent.core.model import Model, ModelRequest
from agent.core.observation import Observation
from model.parsers import convention_for, mode_for

OUTCOMES = ("success", "wrong_page", "no_change")
BAD = frozenset({"wrong_page", "no_change"})
_LETTERS = {"a": "success", "b": "wrong_page", "c": "no_change"}
_WORD = re.compile(r"\b(success|wrong[ _-]page|no[ _-]change)\b", re.IGNORECASE)
_LETTER = re.compile(r"^\W*([abc])\W*$", re.IGNORECASE)  # a bare letter: "B", "(b)", "C."

PROMPT = """You check one step of a computer-use agent.
Task: {goal}
Action just taken: {action}
Pixel check: {diff}
The screenshot shows the screen after the action. Did the action do what it was meant to?
Answer with exactly one word:
A success - the action had its intended effect
B wrong_page - it led somewhere the task does not want
C no_change - nothing useful happened"""


def read_outcome(text: str) -> str:
    """The one outcome ``text`` names (a bare letter, or words), else ``unknown`` (none, or
    two different ones)."""
    letter = _LETTER.match(text.strip())
    if letter:
        return _LETTERS[letter.group(1).lower()]
    found = set()
    for m in _WORD.finditer(text):
        word = m.group(1).lower().replace(" ", "_").replace("-", "_")
        found.add(word)
    return found.pop() if len(found) == 1 else "unknown"


@dataclass
class CheckResult:
    outcome: str
    feedback: str | None
    record: dict[str, Any]


class ModelChecker:
    """Asks ``model`` after each step; feedback after ``replan_after`` bad outcomes in a row."""

    def __init__(self, model: Model, *, replan_after: int = 2) -> None:
        if replan_after < 1:
            raise ConfigError(f"--replan-after must be ≥ 1, got {replan_after}")
        self.model, self.replan_after = model, replan_after
        self.bad = 0  # bad outcomes in a row

    def describe(self) -> dict[str, Any]:
        """For episode.json: the checker model and the re-plan count."""
        return {"model": self.model.describe(), "replan_after": self.replan_after}

    def check(self, goal: str, action: str, diff: str, after: Observation) -> CheckResult:
        prompt = PROMPT.format(goal=goal, action=action, diff=diff)
        m = self.model
        frame = after.frame(
            mode=m.input_mode or mode_for(m.format),
            max_tokens=m.max_tokens,
            convention=m.convention or convention_for(m.format),
        )
        t0 = time.perf_counter()
        reply = m.act(ModelRequest(prompt, after, m.plan_frame(after, frame)))
        latency = time.perf_counter() - t0
        outcome = read_outcome(reply.text)
        self.bad = self.bad + 1 if outcome in BAD else (0 if outcome == "success" else self.bad)
        record: dict[str, Any] = {
            "outcome": outcome,
            "raw": reply.text,
            "prompt": prompt,
            "latency_s": round(latency, 6),
            "bad_in_a_row": self.bad,
        }
        if reply.usage:
            record["usage"] = reply.usage
        feedback = None
        if self.bad >= self.replan_after:
            record["replan"] = True
            feedback = (
                f"A checker found that your last {self.bad} actions did not work "
                f"(the last: {outcome.replace('_', ' ')}). Step back and re-plan: look at the "
                f"screen again and choose a different way to reach the goal."
            )
            self.bad = 0
        return CheckResult(outcome, feedback, record)
