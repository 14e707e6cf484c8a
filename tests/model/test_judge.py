"""The judge: one constrained candidate number, read strictly; a bad answer or a failing judge
model is a recorded fallback to candidate 0, never a crash or a guess."""

from __future__ import annotations

import numpy as np
import pytest

from agent.core.errors import ConfigError, ModelError
from agent.core.model import Model, ModelReply, ModelRequest
from agent.core.observation import Observation
from model.judge import FALLBACK, Judge, read_index
from model.prompts.judge import STEP_JUDGE_PROMPT
from model.scripted import ScriptedModel

SCREEN = Observation(array=np.full((200, 300, 3), 240, np.uint8))
CANDIDATES = ['{"type": "click", "target": "A"}', '{"type": "click", "target": "B"}', "c"]


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("1", 1),
        (" 2\n", 2),
        ("[0]", 0),
        ("Candidate 1.", 1),
        ("attempt #2", 2),
        ("3", None),  # out of range
        ("-1", None),
        ("1 or 2", None),  # never the first of several numbers
        ("I pick 1 because", None),
        ("", None),
        ("one", None),
    ],
)
def test_only_a_lone_number_in_range_is_read(text: str, index: int | None) -> None:
    assert read_index(text, 3) == index


def test_the_judge_asks_for_one_number_with_a_choice_constraint() -> None:
    model = ScriptedModel(["2"])
    v = Judge(model).choose("book a flight", CANDIDATES, SCREEN, context="Done so far:\n1. x")
    asked = model.seen[0]
    assert asked.constraint == {"choice": ["0", "1", "2"]}
    assert asked.observation is SCREEN
    assert (asked.frame.screen_w, asked.frame.screen_h) == (300, 200)
    assert "Goal: book a flight" in asked.task and "Done so far:\n1. x" in asked.task
    assert '[1] {"type": "click", "target": "B"}' in asked.task and "(0\nto 2)" in asked.task
    assert asked.task.startswith(STEP_JUDGE_PROMPT.split("\n")[0])
    assert (v.index, v.raw, v.fallback, v.kind) == (2, "2", None, "step")
    rec = v.to_json()
    assert rec["candidates"] == CANDIDATES and rec["prompt"] == asked.task
    assert rec["fell_back"] is False and "fallback" not in rec and rec["latency_s"] >= 0


@pytest.mark.parametrize("answer", ["7", "the second one", ""])
def test_an_invalid_answer_falls_back_and_says_why(answer: str) -> None:
    v = Judge(ScriptedModel([answer])).choose("g", CANDIDATES, SCREEN, kind="run")
    assert v.index == FALLBACK == 0 and v.raw == answer
    assert v.to_json()["fell_back"] is True
    assert "not one number from 0 to 2" in str(v.fallback)


class _Down(Model):
    """A judge model whose server is down (as the OpenAI backend reports it)."""

    def act(self, request: ModelRequest) -> ModelReply:
        raise ModelError("connection refused")


def test_a_failing_judge_model_is_a_recorded_fallback() -> None:
    v = Judge(_Down()).choose("g", CANDIDATES[:2], SCREEN)
    assert v.index == 0 and v.raw is None
    assert v.fallback is not None and "(model)" in v.fallback and "refused" in v.fallback


def test_a_judge_needs_two_candidates_and_a_known_kind() -> None:
    with pytest.raises(ConfigError, match="two candidates"):
        Judge(ScriptedModel(["0"])).choose("g", ["only"], SCREEN)
    with pytest.raises(ConfigError, match="kind"):
        Judge(ScriptedModel(["0"])).choose("g", CANDIDATES, SCREEN, kind="episode")
