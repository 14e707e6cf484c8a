"""The OpenAI backend's request bodies (no server needed: ``payload`` is pure): each image
encoded once over an episode, a stable prefix for the server's cache, constrained actions.
The same paths against a real vLLM are in test_vllm.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from agent.core.errors import ConfigError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.backends import images as images_mod
from model.backends.constrain import region_click_schema, screen_action_schema
from model.backends.openai_backend import OpenAIModel
from model.parsers import parse


def shot(seed: int, w: int = 300, h: int = 200) -> Observation:
    rng = np.random.default_rng(seed)
    return Observation(array=rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def episode_bodies(model: OpenAIModel, steps: int) -> list[dict[str, Any]]:
    """Request bodies of an episode as the loop builds them: each step's screenshot joins
    the history (same Observation object) once the step is done."""
    history: list[HistoryItem] = []
    bodies = []
    for i in range(steps):
        obs = shot(i)
        frame = obs.frame(mode=model.input_mode, convention=model.convention or "screen")
        req = ModelRequest("Add the socks to the cart", obs, frame, list(history))
        bodies.append(model.payload(model.messages(req), frame))
        history.append(HistoryItem(i, f"step {i}", observation=obs, frame=frame))
    return bodies


def image_count(body: dict[str, Any]) -> int:
    return sum(
        p["type"] == "image_url"
        for m in body["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
    )


def test_each_screenshot_is_encoded_once_while_in_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, int]] = []
    real = images_mod.model_png
    monkeypatch.setattr(
        images_mod, "model_png", lambda p: calls.append(p.observation.size) or real(p)
    )
    model = OpenAIModel("Qwen2.5-VL-7B", history_images=2, history_block=1)
    bodies = episode_bodies(model, 5)
    assert [image_count(b) for b in bodies] == [1, 2, 3, 3, 3]
    assert len(calls) == model.images.encodes == 5
    assert len(model.images) == 3  # screenshots that left the window are dropped
    # the history image of step 3 is byte-identical to what step 1 sent as current
    first = [p for p in bodies[1]["messages"][-1]["content"] if p["type"] == "image_url"]
    later = [
        p for m in bodies[3]["messages"] if isinstance(m["content"], list)
        for p in m["content"] if p["type"] == "image_url"
    ]  # fmt: skip
    assert first[0] == later[0]


def test_a_different_input_plan_is_encoded_again() -> None:
    model = OpenAIModel("Qwen2-VL-7B")
    obs = shot(1)
    pad = obs.frame(mode="pad")
    res = obs.frame(mode="resize", max_tokens=16)
    a = model.images.data_urls(
        [model.messages(ModelRequest("x", obs, pad))[-1]["content"][-1]["image"]]
    )
    from model.prompts import ImagePart

    b = model.images.data_urls([ImagePart(obs, res)])
    assert a != b and model.images.encodes == 2


def lead(body: dict[str, Any]) -> tuple[Any, str]:
    """(the system message or None, the first text of the first user turn)."""
    msgs = body["messages"]
    system = msgs[0] if msgs[0]["role"] == "system" else None
    user = next(m for m in msgs if m["role"] == "user")
    return system, user["content"][0]["text"]


@pytest.mark.parametrize("name", ["Qwen2.5-VL-7B", "Qwen2-VL-7B", "gpt-4o"])
def test_system_prompt_and_task_stay_first_and_unchanged(name: str) -> None:
    """What a server's prefix cache can reuse between steps: the system prompt (with the
    tool definitions) byte-identical, then the task text leading the first user turn."""
    leads = [lead(b) for b in episode_bodies(OpenAIModel(name, history_images=2), 4)]
    assert all(sys == leads[0][0] for sys, _ in leads)
    assert all(text.startswith(leads[0][1]) for _, text in leads)
    assert "Add the socks to the cart" in leads[0][1]


def test_constrained_is_off_by_default_and_recorded() -> None:
    model = OpenAIModel("gpt-4o", format="json")
    assert all("structured_outputs" not in b for b in episode_bodies(model, 2))
    assert model.describe()["constrained"] is False
    on = OpenAIModel("gpt-4o", format="json", constrained=True)
    assert on.describe()["constrained"] is True


def test_constrained_body_is_the_action_schema_on_this_screen() -> None:
    model = OpenAIModel("gpt-4o", format="json", constrained=True)
    (body,) = episode_bodies(model, 1)
    so = body["structured_outputs"]
    assert so["disable_any_whitespace"] is True
    schema = so["json"]
    assert schema == screen_action_schema(shot(0).frame(convention="screen"))
    ok = {"type": "click", "point": [299, 199]}
    jsonschema.validate(ok, schema)
    parse("json", json.dumps(ok), shot(0).frame(convention="screen"))  # admitted → parses
    for bad in (
        {"type": "click", "point": [300, 10]},  # off the 300x200 screen
        {"point": [10, 10]},  # no type: the parser could not tell the action
        {"type": "click", "point": [1.5, 2]},  # not a whole pixel
        {"type": "type", "text": "x" * 300},  # unbounded text
        {"type": "teleport"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_region_schema_and_file_schema(tmp_path: Path) -> None:
    region = region_click_schema(10, 20, 30, 40)
    jsonschema.validate({"type": "click", "point": [30, 20]}, region)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"type": "click", "point": [31, 20]}, region)
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(region))
    model = OpenAIModel("gpt-4o", format="json", constrained=True, action_schema=str(path))
    assert episode_bodies(model, 1)[0]["structured_outputs"]["json"] == region
    assert model.describe()["action_schema"] == "custom"


def test_constrained_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='format = "json"'):
        OpenAIModel("Qwen2-VL-7B", constrained=True)  # qwen2-vl output: no grammar here
    with pytest.raises(ConfigError, match="cannot read"):
        OpenAIModel("m", format="json", constrained=True, action_schema=str(tmp_path / "no"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        OpenAIModel("m", format="json", constrained=True, action_schema=str(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="empty"):
        region_click_schema(5, 5, 4, 9)


@pytest.mark.parametrize("mobile", [False, True])
def test_qwen25_tool_call_schema_admits_only_parseable_calls(mobile: bool) -> None:
    space = "mobile" if mobile else "computer"
    model = OpenAIModel("Qwen2.5-VL-7B", constrained=True, action_space=space)
    obs = shot(0, 1920, 1080)
    frame = obs.frame(mode=model.input_mode, convention=model.convention or "abs")
    schema = model.payload(model.messages(ModelRequest("x", obs, frame)), frame)[
        "structured_outputs"
    ]["json"]
    tool = "mobile_use" if mobile else "computer_use"
    good = (
        [{"action": "click", "coordinate": [1919, 1079]}, {"action": "key", "text": "enter"},
         {"action": "system_button", "button": "Back"},
         {"action": "terminate", "status": "success"},
         {"action": "swipe", "coordinate": [5, 5], "coordinate2": [9, 900]}]
        if mobile
        else [{"action": "left_click", "coordinate": [1919, 1079]},
              {"action": "key", "keys": ["ctrl", "a"]}, {"action": "scroll", "pixels": -300},
              {"action": "left_click_drag", "start_coordinate": [1, 2], "coordinate": [3, 4]},
              {"action": "type", "text": "hi"}, {"action": "wait"}]
    )  # fmt: skip
    for args in good:
        call = {"name": tool, "arguments": args}
        jsonschema.validate(call, schema)
        assert parse("qwen2.5-vl", json.dumps(call), frame).actions  # admitted → parses
    bad = [
        {"name": tool, "arguments": {"action": "left_click" if not mobile else "click",
                                      "coordinate": [1920, 5]}},  # off the screen
        {"name": tool, "arguments": {"action": "key", "keys": [""], "text": ""}},
        {"name": "browser", "arguments": {"action": "wait"}},
        {"name": tool, "arguments": {"action": "terminate", "status": "maybe"}},
    ]  # fmt: skip
    for call in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(call, schema)


@pytest.mark.parametrize(
    ("name", "key", "asked"),
    [
        ("Qwen2.5-VL-7B-Instruct", "bbox_2d", "Locate the Search button, output its bbox"),
        (
            "Qwen3-VL-8B-Instruct",
            "point_2d",
            "Locate the Search button in this image. Output the point",
        ),
    ],
)
def test_constrained_grounding_admits_only_answers_on_the_screen(
    name: str, key: str, asked: str
) -> None:
    """A grounding request to a Qwen2.5-VL / Qwen3-VL grounder asks its cookbook's request
    and is held to its answer (``bbox_2d`` / ``point_2d``), on the screen in the dialect's
    own space; whatever the schema admits, the grounding dialect parses to an on-screen point."""
    model = OpenAIModel(name, action_space="grounding", constrained=True)
    obs = shot(0, 1366, 768)
    frame = model.family.frame(1366, 768, action_space="grounding")
    req = ModelRequest("the Search button", obs, frame)
    body = model.payload(model.messages(req), frame)
    schema = body["structured_outputs"]["json"]
    hi = [a["maximum"] for a in schema["properties"][key]["prefixItems"]]
    for nums in ([0] * len(hi), hi):
        ok = {key: nums}
        jsonschema.validate(ok, schema)
        (action,) = parse(model.format, json.dumps(ok), frame).actions
        x, y = action.point  # type: ignore[attr-defined]
        assert 0 <= x <= 1366 and 0 <= y <= 768
    off = {key: [*hi[:-1], hi[-1] + 1]}
    for bad in (off, {"point": [1, 2]}, {key: hi[:-1]}, {key: hi, "label": "x"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    text = body["messages"][-1]["content"]
    assert any(asked in p.get("text", "") for p in text)


def test_constrained_grounding_without_a_box_grammar_names_the_fix() -> None:
    with pytest.raises(ConfigError, match="constrained grounding"):
        OpenAIModel("Qwen2-VL-7B-Instruct", action_space="grounding", constrained=True)
