"""The planner + grounder model: answers parsed, descriptions grounded by the real OCR
grounder on a real (pure-Python) board, and a grounding failure that never clicks."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from agent.core.errors import ConfigError
from agent.episode.recording import load_episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.grounders.base import Grounded, GroundingFailure
from model.grounders.ocr import OcrDescriptionGrounder, load_ocr_grounder, read_description
from model.planner import PlanError, PlannedModel, read_answer
from model.scripted import ScriptedModel


@pytest.fixture(scope="module")
def grounder() -> OcrDescriptionGrounder:
    return load_ocr_grounder()


def test_instruction_answers_are_parsed() -> None:
    assert read_answer('click "Search flights"') == ({"type": "click"}, '"Search flights"')
    assert read_answer('click "Select" #2') == ({"type": "click"}, '"Select" #2')
    action, desc = read_answer('type "BOS" into "From" and press enter')
    assert action == {"type": "type", "text": "BOS", "enter": True, "clear": True}
    assert desc == 'the "From" field'
    assert read_answer("press escape") == ({"type": "key", "keys": "escape"}, None)
    assert read_answer('finish "booked"') == (
        {"type": "finish", "status": "success", "answer": "booked"},
        None,
    )
    with pytest.raises(PlanError):
        read_answer('click "A"; click "B"')  # one action per answer
    with pytest.raises(PlanError):
        read_answer("fly to the moon")


def test_json_answers_are_parsed_and_points_refused() -> None:
    raw = '```json\n{"thought": "t", "action": {"type": "click", "target": "the OK button"}}\n```'
    assert read_answer(raw) == ({"type": "click"}, "the OK button")
    action, desc = read_answer('{"type": "type", "text": "Ada", "target": "the \\"Name\\" box"}')
    assert action == {"type": "type", "text": "Ada", "clear": True}
    assert desc == 'the "Name" box field'  # typing grounds the input the label names
    assert read_answer('{"type": "key", "keys": "enter"}') == (
        {"type": "key", "keys": "enter"},
        None,
    )
    for bad in (
        '{"type": "click", "point": [10, 20]}',  # the planner never points
        '{"type": "click"}',  # a click needs a target
        '{"type": "drag", "target": "x"}',
        '{"type": "click", "target": ""}',
        "{not json",
    ):
        with pytest.raises(PlanError):
            read_answer(bad)


def test_descriptions_are_read_as_quoted_labels_or_words() -> None:
    assert read_description('the "Pay now" button') == ("Pay now", True, None, "any")
    assert read_description('"Select" #1') == ("Select", True, 1, "any")
    assert read_description('the "From" field') == ("From", True, None, "field")
    assert read_description("the Cancel button") == ("Cancel", False, None, "any")
    with pytest.raises(ConfigError):
        read_description("the button")


def test_the_ocr_grounder_finds_a_label_and_reads_only_the_region(
    grounder: OcrDescriptionGrounder,
) -> None:
    env = BoardEnv()
    obs = env.reset()
    g = grounder.ground(obs, 'the "Pay now" button')
    assert isinstance(g, Grounded), g
    assert 360 <= g.point[0] <= 500 and 40 <= g.point[1] <= 90  # the Pay now button
    # the same label inside a region: read from the crop, mapped back to screen px
    r = grounder.ground(obs, '"Pay now"', region=(300, 0, 640, 150))
    assert isinstance(r, Grounded) and r.crop == (300, 0, 640, 150)
    assert abs(r.point[0] - g.point[0]) < 3 and abs(r.point[1] - g.point[1]) < 3
    assert r.model_point is not None and abs(r.model_point[0] + 300 - r.point[0]) < 0.2
    # a region without it: failure, never a point
    miss = grounder.ground(obs, '"Pay now"', region=(0, 0, 300, 150))
    assert isinstance(miss, GroundingFailure) and "Pay now" in miss.reason
    # a quoted label is matched exactly: "Pay" is a word of it, "Pa" is not
    assert isinstance(grounder.ground(obs, '"Pa"'), GroundingFailure)
    assert isinstance(grounder.ground(obs, "the Cancel button"), Grounded)
    env.close()


def test_a_grounding_failure_never_clicks_and_becomes_feedback(
    tmp_path: Path, grounder: OcrDescriptionGrounder
) -> None:
    planner = ScriptedModel(['click "Submit order"', 'click "OK"', 'finish "done"'], "instructions")
    env = BoardEnv()
    ep = run("press OK", env=env, model=PlannedModel(planner, grounder), out=tmp_path / "ep",
             no_gate=True)  # fmt: skip
    ep = load_episode(tmp_path / "ep")
    first, second = ep.steps[0], ep.steps[1]
    assert [a["action"]["type"] for a in first["actions"]] == ["wait"]  # nothing pressed
    assert first["trace"]["grounding"]["ok"] is False
    assert first["trace"]["description"] == '"Submit order"'
    assert "Submit order" in first["trace"]["feedback_out"]
    # the next planner request carries the failure, in its feedback and its prompt
    assert "Submit order" in (planner.seen[1].feedback or "")
    assert "Submit order" in planner.seen[1].task
    assert second["trace"]["feedback_in"] == first["trace"]["feedback_out"]
    assert second["trace"]["grounding"]["ok"] is True
    assert [b.clicks for b in env.state.buttons] == [1, 0, 0]  # only the grounded OK click
    assert ep.success


def test_a_text_only_planner_sees_the_screen_lines(
    tmp_path: Path, grounder: OcrDescriptionGrounder
) -> None:
    planner = ScriptedModel(['{"type": "click", "target": "the \\"Cancel\\" button"}'])
    model = PlannedModel(planner, grounder, text_only=True)
    run("press Cancel", env=BoardEnv(), model=model, out=tmp_path / "ep", no_gate=True,
        max_steps=2)  # fmt: skip
    prompt = planner.seen[0].task
    assert "press Cancel" in prompt and '"Pay now (0)" at (' in prompt
    assert planner.seen[0].text_only  # the backend sends it no image
    step = load_episode(tmp_path / "ep").steps[0]
    assert step["trace"]["planner"]["prompt"] == prompt  # the prompt is recorded
    assert step["actions"][0]["action"]["target"] == 'the "Cancel" button'


def test_a_constrained_planner_is_held_to_the_planner_answer(
    tmp_path: Path, grounder: OcrDescriptionGrounder
) -> None:
    """A planner whose backend is constrained gets the planner answer's schema on each
    request (not its backend's own, which wants points): a text-only one may only name the
    labels it was shown, and every answer the schema admits is read by the planner."""
    planner = ScriptedModel([json.dumps({"type": "click", "target": '"Cancel (0)"'})])
    planner.constrained = True  # type: ignore[attr-defined]  # as OpenAIModel(constrained=True)
    model = PlannedModel(planner, grounder, text_only=True)
    assert model.describe()["constrained"] is True
    run("press Cancel", env=BoardEnv(), model=model, out=tmp_path / "ep", no_gate=True,
        max_steps=1)  # fmt: skip
    schema = (planner.seen[0].constraint or {})["json"]
    pointer = schema["anyOf"][0]["properties"]
    assert {'"Cancel (0)"', '"Pay now (0)"'} <= set(pointer["target"]["enum"])
    for ok in (
        {"type": "click", "target": '"Cancel (0)"'},
        {"type": "type", "text": "Ada", "target": '"Name"'},
        {"type": "key", "keys": "ctrl+a"},
        {"type": "finish", "status": "success", "answer": "x"},
    ):
        jsonschema.validate(ok, schema)
        read_answer(json.dumps(ok))  # admitted → read
    for bad in (
        {"type": "click", "target": '"Nowhere"'},  # not on the screen
        {"type": "click", "target": '"Cancel (0)"', "point": [1, 2]},
        {"type": "navigate", "url": "http://x"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    step = load_episode(tmp_path / "ep").steps[0]
    assert step["trace"]["grounding"]["ok"] is True
    plain = ScriptedModel(['{"type": "wait"}'])
    PlannedModel(plain, grounder).act(planner.seen[0])  # unconstrained: no constraint sent
    assert plain.seen[0].constraint is None


def test_scripted_instructions_are_a_planner_format_only(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"format": "instructions", "outputs": ['click "OK"']}))
    assert ScriptedModel.from_file(f, planner=True).format == "instructions"
    with pytest.raises(ConfigError, match="--planner"):
        ScriptedModel.from_file(f)


def test_the_gate_asks_before_a_grounded_payment(
    tmp_path: Path, grounder: OcrDescriptionGrounder
) -> None:
    """The Python path: a described "Pay now" is grounded, then the gate asks a person."""
    asked: list[object] = []

    def confirm(request: object) -> bool:
        asked.append(request)
        return True

    planner = ScriptedModel(['click "OK"', 'click "Pay now"', 'finish "paid"'], "instructions")
    env = BoardEnv()
    ep = run("pay", env=env, model=PlannedModel(planner, grounder), out=tmp_path / "ep",
             confirm=confirm)  # fmt: skip
    assert ep.success and len(asked) == 1  # asked once: before the payment, not before OK
    gates = [s["actions"][0]["gate"] for s in load_episode(tmp_path / "ep").steps[:2]]
    assert "confirmation" not in gates[0]
    assert gates[1]["confirmation"]["ok"] is True and gates[1]["rule"] == "irreversible"
    assert [b.clicks for b in env.state.buttons] == [1, 0, 1]
