"""Every official UI-TARS and Qwen prompt template, rendered byte-equal (oracles: official/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.parsers import frame_options
from model.profiles import get_profile
from model.prompts import build_messages
from model.prompts import templates as t

OFFICIAL = Path(__file__).parent / "official"
TASKS = ["Open the settings", "搜索今天的天气", "type {braces} and 'quotes' \\n"]


def official(name: str) -> str:
    return (OFFICIAL / name).read_text(encoding="utf-8")


def request(family: str, w: int = 1920, h: int = 1080, space: str = "computer") -> ModelRequest:
    prof = get_profile(family)
    fmt = prof.format_for(space)
    from model.parsers import convention_for, mode_for

    o = Observation(array=np.zeros((h, w, 3), np.uint8))
    frame = o.frame(mode=mode_for(fmt), convention=convention_for(fmt), **frame_options(fmt))
    return ModelRequest(TASKS[0], o, frame, [])


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("language", ["English", "Chinese"])
@pytest.mark.parametrize(
    ("space", "name"),
    [
        ("computer", "uitars15_computer_use.txt"),
        ("mobile", "uitars15_mobile_use.txt"),
        ("grounding", "uitars15_grounding.txt"),
    ],
)
def test_ui_tars_15_templates_are_byte_equal(space: str, name: str, language: str, task: str):
    want = official(name)
    want = (
        want.format(instruction=task)
        if space == "grounding"
        else want.format(language=language, instruction=task)
    )
    assert t.ui_tars_prompt(task, v15=True, space=space, language=language) == want


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize(
    ("space", "name", "language"),
    [
        ("computer", "uitars_v1_computer.txt", "Chinese"),
        ("mobile", "uitars_v1_mobile.txt", "English"),
        ("grounding", "uitars_v1_grounding.txt", "English"),
    ],
)
def test_ui_tars_v1_templates_are_byte_equal(space: str, name: str, language: str, task: str):
    # README_v1: messages=[{"role": "user", "content": [{"text": prompt + instruction}, image]}]
    assert t.ui_tars_prompt(task, v15=False, space=space, language=language) == (
        official(name) + task
    )


def test_ui_tars_chat_structures_follow_the_official_examples() -> None:
    v15 = build_messages(request("ui-tars-1.5"), "ui-tars-1.5")
    assert v15[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert [m["role"] for m in v15] == ["system", "user", "user"]  # prompt, then screenshot
    assert v15[1]["content"][0]["text"] == official("uitars15_computer_use.txt").format(
        language="English", instruction=TASKS[0]
    )
    assert [p["type"] for p in v15[2]["content"]] == ["image"]
    v1 = build_messages(request("ui-tars"), "ui-tars", language="Chinese")
    assert [p["type"] for p in v1[1]["content"]] == ["text", "image"]  # one turn
    assert v1[1]["content"][0]["text"] == official("uitars_v1_computer.txt") + TASKS[0]


def test_qwen25_cookbook_system_prompts_are_byte_equal() -> None:
    assert t.qwen25_system(1932, 1092, mobile=False) == official(
        "qwen25-vl_computeruse_1932x1092_system.txt"
    )
    assert t.qwen25_system(1092, 2408, mobile=True) == official(
        "qwen25-vl_mobileuse_1092x2408_system.txt"
    )
    # the prompt states the model-input size: 1920x1080 pads to 1932x1092
    msgs = build_messages(request("qwen2.5-vl"), "qwen2.5-vl")
    assert msgs[0]["content"] == official("qwen25-vl_computeruse_1932x1092_system.txt")
    assert msgs[1]["content"][0]["text"] == f"The user query: {TASKS[0]}"
    assert [p["type"] for p in msgs[1]["content"]] == ["text", "image"]
    mobile = build_messages(
        request("qwen2.5-vl", 1080, 2400, "mobile"), "qwen2.5-vl", action_space="mobile"
    )
    assert mobile[0]["content"] == official("qwen25-vl_mobileuse_1092x2408_system.txt")


@pytest.mark.parametrize("family", ["qwen3-vl", "qwen3.5"])
def test_qwen3_cookbook_prompts_are_byte_equal(family: str) -> None:
    msgs = build_messages(request(family), family)
    assert msgs[0]["content"] == official("qwen3-vl_computeruse_1000x1000_system.txt")
    # computer cookbook: [image, query]
    assert [p["type"] for p in msgs[1]["content"]] == ["image", "text"]
    assert msgs[1]["content"][1]["text"] == TASKS[0]
    assert msgs[1]["content"][0]["image"].frame.input_h == 1088  # 1080 padded to 32
    mobile = build_messages(request(family, 1080, 2400, "mobile"), family, action_space="mobile")
    assert mobile[0]["content"] == official("qwen3vl_mobile_system.txt")
    text = mobile[1]["content"][0]["text"]
    assert text == (
        f"The user query: {TASKS[0]}.\nTask progress (You have done the following operation "
        "on the current device): .\n"
    )


def test_thinking_replies_lose_their_think_block_in_history() -> None:
    req = request("qwen3-vl")
    raw = '<think>\nlong reasoning\n</think>\n\n<tool_call>\n{"name": "computer_use"}\n</tool_call>'
    item = HistoryItem(0, raw, observation=req.observation, frame=req.frame)
    req = ModelRequest(req.task, req.observation, req.frame, [item])
    msgs = build_messages(req, "qwen3-vl", history_images=1)
    assert msgs[2] == {"role": "assistant", "content": raw.split("</think>\n\n")[1]}
    kept = build_messages(req, "qwen2.5-vl", history_images=1)
    assert kept[2]["content"] == raw  # profiles without strip_think keep the text


@pytest.mark.parametrize(("w", "h"), [(1366, 768), (1080, 2400), (333, 517)])
def test_qwen25_resize_mode_states_the_cookbooks_smart_resize_size(w: int, h: int) -> None:
    """Cookbook: ``smart_resize(h, w, factor=patch*merge, min_pixels, max_pixels)`` of the
    processor (3,136 and 12,845,056 px) is the resolution the tool prompt states."""
    from qwen_vl_utils import smart_resize

    o = Observation(array=np.zeros((h, w, 3), np.uint8))
    frame = o.frame(mode="resize", convention="abs")
    msgs = build_messages(ModelRequest(TASKS[0], o, frame, []), "qwen2.5-vl")
    rh, rw = smart_resize(h, w, 28, 3136, 12845056)
    assert f"The screen's resolution is {rw}x{rh}." in msgs[0]["content"]
