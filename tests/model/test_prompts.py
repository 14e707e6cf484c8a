"""Prompt templates and the backend-neutral message list (no model needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agent.core.errors import ConfigError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.parsers import FORMATS, convention_for, mode_for
from model.prompts import (
    FAMILIES,
    build_messages,
    describe,
    get_family,
    guess_family,
    iter_images,
    resolve_family,
)
from model.prompts import templates as t


def obs(w: int = 1920, h: int = 1080, error: str | None = None) -> Observation:
    return Observation(array=np.zeros((h, w, 3), np.uint8), last_action_error=error)


def request(family: str, *, history: int = 0, w: int = 1920, h: int = 1080, **kw) -> ModelRequest:
    fmt = FAMILIES[family].format
    o = obs(w, h, kw.pop("error", None))
    frame = o.frame(mode=mode_for(fmt), convention=convention_for(fmt))
    items = [
        HistoryItem(
            i,
            f"Thought: step {i}\nAction: click(start_box='({i},{i})')",
            error="boom" if i == 0 else None,
            observation=obs(w, h),
            frame=frame,
        )
        for i in range(history)
    ]
    return ModelRequest("Open the settings", o, frame, items, **kw)


def texts(message: dict) -> str:
    c = message["content"]
    return c if isinstance(c, str) else "".join(p.get("text", "") for p in c)


def test_every_family_speaks_a_known_format() -> None:
    for fam in FAMILIES.values():
        assert fam.format in FORMATS


@pytest.mark.parametrize(
    ("name", "model_type", "family"),
    [
        ("ByteDance-Seed/UI-TARS-1.5-7B", None, "ui-tars-1.5"),
        ("bytedance-research/UI-TARS-7B-SFT", None, "ui-tars"),
        ("/models/ui_tars_local", "qwen2_5_vl", "ui-tars-1.5"),
        ("/models/ui_tars_local", "qwen2_vl", "ui-tars"),
        ("Qwen/Qwen2.5-VL-7B-Instruct", None, "qwen2.5-vl"),
        ("Qwen/Qwen2-VL-2B-Instruct", None, "qwen2-vl"),
        ("Qwen/Qwen-VL-Chat", None, "qwen-vl"),
        ("/ckpt/step-1000", "qwen2_5_vl", "qwen2.5-vl"),
        ("gpt-4o", None, "json"),
    ],
)
def test_guess_family(name: str, model_type: str | None, family: str) -> None:
    assert guess_family(name, model_type).name == family


def test_family_override_and_unknown() -> None:
    assert resolve_family("Qwen/Qwen2-VL-7B", family="ui_tars").name == "ui-tars"
    assert get_family("UI-TARS-1.5").name == "ui-tars-1.5"
    with pytest.raises(ConfigError, match="known"):
        get_family("llava")


def test_qwen25_states_the_real_screen_size_in_model_pixels() -> None:
    msgs = build_messages(request("qwen2.5-vl"), "qwen2.5-vl")
    system = msgs[0]["content"]
    assert msgs[0]["role"] == "system"
    assert "The screen's resolution is 1932x1092." in system  # padded input = screenshot px
    tools = system.split("<tools>\n")[1].split("\n</tools>")[0]
    tool = json.loads(tools)
    assert tool["function"]["name"] == "computer_use"
    assert "left_click" in tool["function"]["parameters"]["properties"]["action"]["enum"]
    assert "<tool_call>" in system
    # cookbook shape: one user turn with the query and the screenshot
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[1]["content"][0]["text"] == "The user query: Open the settings"
    assert msgs[1]["content"][1]["type"] == "image"


def test_qwen25_mobile_tool() -> None:
    msgs = build_messages(
        request("qwen2.5-vl", w=1080, h=2400), "qwen2.5-vl", action_space="mobile"
    )
    assert '"name": "mobile_use"' in msgs[0]["content"]
    assert "The screen's resolution is 1092x2408." in msgs[0]["content"]


def test_ui_tars_prompts() -> None:
    v1 = build_messages(request("ui-tars"), "ui-tars")
    v15 = build_messages(request("ui-tars-1.5"), "ui-tars-1.5", language="Chinese")
    for msgs in (v1, v15):
        prompt = msgs[1]["content"][0]["text"]
        assert prompt.startswith("You are a GUI agent. You are given a task")
        assert "click(start_box='<|box_start|>(x1,y1)<|box_end|>')" in prompt
        assert prompt.rstrip().endswith("## User Instruction\nOpen the settings")
    assert "call_user()" in v1[1]["content"][0]["text"]
    assert "finished(content='xxx')" in v15[1]["content"][0]["text"]
    assert "Use Chinese in `Thought` part." in v15[1]["content"][0]["text"]
    # official chat structures: v1 sends prompt + screenshot as one user turn, 1.5 separately
    assert [p["type"] for p in v1[1]["content"]] == ["text", "image"]
    assert [m["role"] for m in v15] == ["system", "user", "user"]
    mobile = t.ui_tars_prompt("x", v15=True, mobile=True)
    assert "press_home()" in mobile and "open_app(app_name='')" in mobile


def test_history_window_images_and_text_lines() -> None:
    req = request("qwen2.5-vl", history=5)
    msgs = build_messages(req, "qwen2.5-vl", history_images=2)
    images = list(iter_images(msgs))
    assert len(images) == 3  # two history screenshots + the current one
    assert images[-1].observation is req.observation
    first_user = texts(msgs[1])
    assert "Step 1: Thought: step 0 Action: click(start_box='(0,0)') (failed: boom)" in first_user
    assert "Step 3:" in first_user and "Step 4:" not in first_user
    roles = [m["role"] for m in msgs]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[2]["content"].startswith("Thought: step 3")


def test_ui_tars_keeps_older_steps_as_assistant_turns() -> None:
    msgs = build_messages(request("ui-tars-1.5", history=4), "ui-tars-1.5", history_images=1)
    roles = [m["role"] for m in msgs]
    assert roles == ["system", "user"] + ["assistant"] * 3 + ["user", "assistant", "user"]
    assert len(list(iter_images(msgs))) == 2


def test_history_without_images() -> None:
    msgs = build_messages(request("json", history=2), "json", history_images=0)
    assert len(list(iter_images(msgs))) == 1
    assert "Previous steps:\nStep 1:" in texts(msgs[1])


def test_feedback_and_last_action_error_go_last() -> None:
    req = request("json", error="ActionFailedError: nothing there", feedback="no JSON found")
    final = build_messages(req, "json")[-1]
    assert final["role"] == "user"
    assert final["content"][-2]["text"] == (
        "The previous action failed: ActionFailedError: nothing there"
    )
    assert final["content"][-1]["text"] == "Note: no JSON found"


def test_json_prompt_uses_screenshot_pixels() -> None:
    msgs = build_messages(request("json", w=1280, h=800), "json")
    assert "pixels of the 1280x800 screenshot" in msgs[0]["content"]
    assert '"type": "click"' in msgs[0]["content"]


def test_qwen2_vl_grounding_prompt() -> None:
    msgs = build_messages(request("qwen2-vl"), "qwen2-vl")
    assert msgs[0]["role"] == "user"  # the chat template adds its default system prompt
    text = msgs[0]["content"][0]["text"]
    assert "<|object_ref_start|>" in text and "<|box_start|>(x1,y1),(x2,y2)<|box_end|>" in text
    assert "0-1000" in text


def test_describe_renders_placeholders() -> None:
    out = describe(build_messages(request("ui-tars"), "ui-tars"))
    assert "<image 1932x1092>" in out
    assert out.startswith("[system] You are a helpful assistant.")


@pytest.mark.parametrize("family", ["json", "ui-tars-1.5"])
def test_history_steps_bounds_the_earlier_steps_a_request_holds(family: str) -> None:
    req = request(family, history=6)
    msgs = build_messages(req, family, history_images=1, history_steps=3)
    assert len(list(iter_images(msgs))) == 2  # the current screenshot + one history image
    body = describe(msgs)
    assert "step 5" in body and "step 3" in body and "step 2" not in body
    everything = describe(build_messages(req, family, history_images=1))
    assert "step 0" in everything or "Step 1" in everything  # None: every given step


@pytest.mark.parametrize("family", ["qwen2.5-vl", "ui-tars-1.5", "json"])
def test_a_text_only_request_sends_no_image(family: str) -> None:
    """A text-only planner's request: the same conversation, every image dropped (a turn
    that held only an image goes with it), the text intact."""
    req = request(family, history=3, text_only=True)
    full = build_messages(request(family, history=3), family, history_images=2)
    msgs = build_messages(req, family, history_images=2)
    assert not list(iter_images(msgs)) and list(iter_images(full))
    assert "".join(map(texts, msgs)) == "".join(map(texts, full))
    assert all(m["content"] for m in msgs)
