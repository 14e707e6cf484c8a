"""Holo1.5, Holo2 and GELab-Zero against their authors' code (oracles: official/holo_gelab/).

Which official path each family follows:

* Holo1.5 (``holo-1.5``): the cookbook's localization notebooks — the client smart-resizes
  (factor 28, 3,136 … 1,003,520 px) and the model answers pixels of that image; back to the
  screen at ``x * w / resized_w`` (float).
* Holo2 (``holo-2``): the hosted-API localization notebook — smart_resize(factor 32, 65,536 …
  16,777,216 px), 0–1000 of that image, ``int(x / 1000 * image.width)`` on the resized image,
  ``x / 1000 * w`` on the screen.
* GELab-Zero (``gelab-zero``): the deploy path ``pu_client`` → ``Parser0920Summary.str2action``
  → ``uiTars_to_frontend_action`` → ``_convert_point_to_realworld_point`` (``x / 1000 * w``,
  float, passed to ``adb input tap``). The other client path (``model_act2front_act``:
  ``int()`` truncation, SWIPE instead of SLIDE) is checked only for how it disagrees.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.core.actions import (
    Action,
    CallUser,
    Click,
    DoubleClick,
    Finish,
    Key,
    LongPress,
    OpenApp,
    Swipe,
    Type,
    Wait,
)
from agent.core.coords import Frame
from agent.core.errors import ParseError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from agent.export.render import UnsupportedAction, render, same_action, tolerance
from model.parsers import parse, spec_for
from model.profiles import detect_profile, get_profile
from model.prompts import build_messages

OFFICIAL = Path(__file__).parent / "official" / "holo_gelab"
HOLO = json.loads((OFFICIAL / "holo_cases.json").read_text("utf-8"))
GELAB = json.loads((OFFICIAL / "gelab_cases.json").read_text("utf-8"))
SCREENS = [(720, 1280), (1080, 2400), (1280, 720), (1920, 1080), (2560, 1440), (3840, 2160)]


def authors_frame(fmt: str, w: int, h: int) -> Frame:
    """The frame in the authors' mode: their smart_resize at their budget."""
    return spec_for(fmt).coords.frame(w, h, mode="resize")


def near(got: tuple[float, float], want: list[float], px: float = 1.0) -> bool:
    return abs(got[0] - want[0]) <= px and abs(got[1] - want[1]) <= px


# ---- 1. oracle ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in HOLO if "published" not in c["mode"]])
def test_holo_localization_matches_the_cookbook(case: dict[str, Any]) -> None:
    fmt = "holo-1.5" if case["mode"].startswith("holo1.5") else "holo-2"
    w, h = case["screen"]
    frame = authors_frame(fmt, w, h)
    off = case["official"]
    assert [frame.input_w, frame.input_h] == off["resized_wh"]  # the cookbook's resize
    (action,) = parse(fmt, case["text"], frame).actions
    assert isinstance(action, Click)
    assert near(action.point, off["screen_px_float"]), (action.point, off)
    # on the resized image: Holo1.5's pixels as written, Holo2's int(x / 1000 * width)
    rx, ry = action.point[0] * frame.input_w / w, action.point[1] * frame.input_h / h
    assert near((rx, ry), off["point_on_resized_image"])


def test_holo_oracle_covers_both_models_and_every_screen() -> None:
    modes = {c["mode"] for c in HOLO}
    assert {"holo1.5-localization", "holo2-localization"} <= modes
    assert {tuple(c["screen"]) for c in HOLO if c["screen"][0]} >= set(SCREENS)


@pytest.mark.parametrize("case", [c for c in HOLO if "published" in c["mode"]])
def test_holo_published_answers_parse(case: dict[str, Any]) -> None:
    fmt = "holo-1.5" if "holo1.5" in case["mode"] else "holo-2"
    rw, rh = case["official"]["resized_wh_assumed"]
    w, h = case["screen"] if case["screen"][0] else (rw, rh)
    frame = authors_frame(fmt, w, h)
    assert (frame.input_w, frame.input_h) == (rw, rh)
    value = json.loads(case["text"])
    (action,) = parse(fmt, case["text"], frame).actions
    if fmt == "holo-1.5":
        want = [value["x"] * w / rw, value["y"] * h / rh]
    else:
        want = [value["x"] / 1000 * w, value["y"] / 1000 * h]
    assert isinstance(action, Click) and near(action.point, want)


GELAB_TYPES = {
    "CLICK": "click",
    "TYPE": "type",
    "COMPLETE": "finish",
    "WAIT": "wait",
    "AWAKE": "open_app",
    "INFO": "call_user",
    "ABORT": "finish",
    "SLIDE": "swipe",
    "LONGPRESS": "long_press",
}


@pytest.mark.parametrize("case", [c for c in GELAB if c["screen"]])
def test_gelab_matches_the_deploy_path(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    off = case["official"]
    parsed, front = off["parsed"], off["frontend"]
    kind = parsed["action"]
    result = parse("gelab-zero", case["text"], authors_frame("gelab-zero", w, h))
    (a,) = result.actions
    assert a.type == GELAB_TYPES[kind]
    assert result.thought == parsed["cot"]
    point = getattr(a, "point", None)
    if "point_screen_px_float" in off:
        assert point is not None and near(point, off["point_screen_px_float"])
    if kind == "SLIDE":
        assert isinstance(a, Swipe)
        assert near(a.start, off["point1_screen_px_float"])
        assert near(a.end, off["point2_screen_px_float"])
    expected: dict[str, Any] = {
        "TYPE": {"text": parsed.get("value")},
        "COMPLETE": {"status": "success", "answer": parsed.get("return")},
        "ABORT": {"status": "failure", "answer": parsed.get("value")},
        "WAIT": {"seconds": front.get("seconds")},
        "AWAKE": {"name": parsed.get("value")},
        "INFO": {"question": parsed.get("value")},
        "LONGPRESS": {"duration": front.get("duration")},
    }.get(kind, {})
    assert {k: getattr(a, k) for k in expected} == expected


@pytest.mark.parametrize("case", [c for c in GELAB if c["screen"]])
def test_gelab_other_client_path_differs_only_as_documented(case: dict[str, Any]) -> None:
    """model_act2front_act truncates with int() (within 1 px of ours) and has no SLIDE."""
    w, h = case["screen"]
    alt = case["alt_paths"]["model_act2front_act"]
    (a,) = parse("gelab-zero", case["text"], authors_frame("gelab-zero", w, h)).actions
    if a.type == "swipe":
        assert isinstance(alt, str) and alt.startswith("ERROR")
    elif getattr(a, "point", None) is not None:
        px, py = alt["args"]["point"]
        assert (px, py) == (math.floor(a.point[0] + 1e-9), math.floor(a.point[1] + 1e-9))


@pytest.mark.parametrize("case", [c for c in GELAB if not c["screen"]])
def test_gelab_parser_edge_cases(case: dict[str, Any]) -> None:
    """<think> in lower case, "x y" points, no think block at all."""
    want = case["official"]["parsed"]
    (a,) = parse("gelab-zero", case["text"], authors_frame("gelab-zero", 1000, 1000)).actions
    assert isinstance(a, Click) and near(a.point, want["point"], 1e-6)


def test_gelab_oracle_covers_every_action_and_screen() -> None:
    kinds = {c["official"]["parsed"]["action"] for c in GELAB}
    assert kinds == set(GELAB_TYPES)
    assert {tuple(c["screen"]) for c in GELAB if c["screen"]} == set(SCREENS)


# ---- 2. prompts, byte for byte -----------------------------------------------------------


def _request(fmt: str, task: str, history: list[HistoryItem] | None = None) -> ModelRequest:
    obs = Observation(array=np.zeros((1080, 1920, 3), np.uint8))
    return ModelRequest(task, obs, authors_frame(fmt, 1920, 1080), history or [])


@pytest.mark.parametrize(
    ("family", "example"),
    [
        ("holo-1.5", "holo1_5_localization_user_text_example.txt"),
        ("holo-2", "holo2_localization_user_text_example.txt"),
    ],
)
def test_holo_prompt_is_the_cookbooks(family: str, example: str) -> None:
    want = (OFFICIAL / example).read_text("utf-8")
    task = "Book a hotel in Paris on August 3rd for 3 nights"
    msgs = build_messages(_request(family, task), family)
    assert [m["role"] for m in msgs] == ["user"]  # no system message
    assert [p["type"] for p in msgs[0]["content"]] == ["image", "text"]
    assert msgs[0]["content"][1]["text"] == want


def test_gelab_prompt_is_the_authors_with_the_last_summary() -> None:
    ex = json.loads((OFFICIAL / "example_filled_messages_step2.json").read_text("utf-8"))
    parts = ex[0]["content"]
    first = "<THINK> 打开设置 </THINK>\nexplain:打开设置\taction:AWAKE\tvalue:设置"
    older = HistoryItem(0, "<THINK> 旧 </THINK>\nexplain:x\taction:WAIT\tvalue:1\tsummary:旧")
    last = HistoryItem(1, first + "\tsummary:已打开设置应用\n")
    req = _request("gelab-zero", "打开设置，开启蓝牙", [older, last])
    msgs = build_messages(req, "gelab-zero", history_images=0)
    assert [m["role"] for m in msgs] == ["user"]
    content = msgs[0]["content"]
    assert [p["type"] for p in content] == ["text", "image", "text"]
    assert content[0]["text"] == parts[0]["text"] + parts[1]["text"]
    assert content[2]["text"] == parts[3]["text"]


def test_gelab_prompt_before_the_first_step_says_no_history() -> None:
    ex = json.loads((OFFICIAL / "example_filled_messages_step2.json").read_text("utf-8"))
    want = ex[0]["content"][1]["text"].replace("已打开设置应用", "暂无历史操作")
    msgs = build_messages(_request("gelab-zero", "打开设置，开启蓝牙"), "gelab-zero")
    assert msgs[0]["content"][0]["text"] == ex[0]["content"][0]["text"] + want


# ---- 3. round trip -----------------------------------------------------------------------

FRAMES = [(w, h, mode) for w, h in SCREENS for mode in ("pad", "resize")]
GELAB_ACTIONS: list[Action] = [
    Click(point=(10.0, 20.0)),
    Type(text="hello world", point=(300.5, 400.0)),
    Type(text="no point"),
    Finish(status="success", answer="done: 3 items"),
    Finish(status="failure", answer="needs a login"),
    Finish(status="success"),
    Wait(seconds=2.5),
    OpenApp(name="设置"),
    CallUser(question="Which one?"),
    Swipe(start=(100.0, 600.0), end=(100.0, 50.0)),
    LongPress(point=(200.0, 100.0), duration=1.5),
]


@pytest.mark.parametrize(("w", "h", "mode"), FRAMES)
@pytest.mark.parametrize("fmt", ["holo-1.5", "holo-2"])
def test_holo_round_trip(fmt: str, w: int, h: int, mode: str) -> None:
    frame = spec_for(fmt).coords.frame(w, h, mode=mode)  # type: ignore[arg-type]
    for p in [(0.0, 0.0), (w - 1.0, h - 1.0), (w / 3, h * 0.7), (12.3, 45.6)]:
        rec: list[Action] = [Click(point=p)]
        text = render(rec, frame, fmt)
        back = parse(fmt, text, frame).actions
        assert same_action(rec, back, fmt, tolerance(frame)) is None, text


@pytest.mark.parametrize(("w", "h", "mode"), FRAMES)
def test_gelab_round_trip(w: int, h: int, mode: str) -> None:
    frame = spec_for("gelab-zero").coords.frame(w, h, mode=mode)  # type: ignore[arg-type]
    for a in GELAB_ACTIONS:
        text = render([a], frame, "gelab-zero", thought="想一想")
        back = parse("gelab-zero", text, frame)
        assert back.thought == "想一想"
        assert same_action([a], back.actions, "gelab-zero", tolerance(frame)) is None, text


@pytest.mark.parametrize(
    ("fmt", "action"),
    [
        ("holo-2", DoubleClick(point=(1.0, 1.0))),
        ("holo-1.5", Key(keys="ctrl+c")),
        ("gelab-zero", Key(keys="enter")),
        ("gelab-zero", Type(text="a\tb")),
        ("gelab-zero", Type(text="go", enter=True)),
    ],
)
def test_what_a_dialect_cannot_say_is_refused(fmt: str, action: Action) -> None:
    with pytest.raises(UnsupportedAction):
        render([action], Frame.for_screen(1920, 1080), fmt)


# ---- 4. early stop -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["holo-1.5", "holo-2", "gelab-zero"])
def test_complete_only_once_the_action_is_written(fmt: str) -> None:
    frame = Frame.for_screen(1080, 2400)
    actions = [Click(point=(500.0, 700.0))] if fmt != "gelab-zero" else GELAB_ACTIONS
    done = spec_for(fmt).complete
    for a in actions:
        text = render([a], frame, fmt, thought="先想 action:CLICK summary:想")
        assert done(text), text
        end = text.rindex("}") if fmt != "gelab-zero" else len(text) - 1
        for cut in range(end):
            assert not done(text[:cut]), text[:cut]


# ---- 5. malformed output -----------------------------------------------------------------

BAD = {
    "holo-1.5": [
        '{"action": "click_absolute", "x": 12',  # truncated
        '{"action": "double_click", "x": 1, "y": 2}',  # unknown action
        '{"action": "click_absolute", "x": 5000, "y": 10}',  # off screen
        '{"action": "click_absolute", "x": NaN, "y": 3}',
        '{"x": 1, "y": 2, "z": 3}',  # a key the schema lacks
        '{"x": 1}',
        "Click(12, 34)",  # Holo1's syntax is not Holo1.5's
    ],
    "holo-2": [
        '{"x": 552, "y"',
        '{"x": 1200, "y": 10}',
        '{"x": Infinity, "y": 3}',
        '{"x": "left", "y": 3}',
        '{"action": "click_absolute", "x": 1, "y": 2}',
    ],
    "gelab-zero": [
        "<THINK> 我要点击",  # truncated inside the thought
        "<THINK> t </THINK>\nexplain:e\taction:SWIPE\tpoint1:1,2\tpoint2:3,4",  # not SLIDE
        "<THINK> t </THINK>\nexplain:e\taction:CLICK\tsummary:s",  # no point
        "<THINK> t </THINK>\nexplain:e\taction:CLICK\tpoint:12",
        "<THINK> t </THINK>\nexplain:e\taction:CLICK\tpoint:nan,3",
        "<THINK> t </THINK>\nexplain:e\taction:CLICK\tpoint:1500,20",
        "<THINK> t </THINK>\nexplain:e\taction:WAIT\tvalue:soon",
        "<THINK> t </THINK>\nexplain:e\taction:SLIDE\tpoint1:1,2",
        "<THINK> t </THINK>\nexplain:e\taction:COMPLETE",  # no return field
        "<THINK> t </THINK>\nexplain:e\naction:CLICK\npoint:1,2",  # not TAB-separated
    ],
}


@pytest.mark.parametrize(("fmt", "text"), [(f, t) for f, ts in BAD.items() for t in ts])
def test_malformed_output_is_a_parse_error(fmt: str, text: str) -> None:
    with pytest.raises(ParseError):
        parse(fmt, text, Frame.for_screen(1920, 1080))


# ---- 6. detection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hub_id", "model_type", "family"),
    [
        ("Hcompany/Holo1.5-3B", "qwen2_5_vl", "holo-1.5"),
        ("Hcompany/Holo1.5-7B", "qwen2_5_vl", "holo-1.5"),
        ("Hcompany/Holo1.5-72B", "qwen2_5_vl", "holo-1.5"),
        ("Hcompany/Holo2-4B", "qwen3_vl", "holo-2"),
        ("Hcompany/Holo2-8B", "qwen3_vl", "holo-2"),
        ("Hcompany/Holo2-30B-A3B", "qwen3_vl_moe", "holo-2"),
        ("stepfun-ai/GELab-Zero-4B-preview", "qwen3_vl", "gelab-zero"),
        ("gelab-zero-4b-preview", None, "gelab-zero"),
        ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2_5_vl", "qwen2.5-vl"),
        ("Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl", "qwen3-vl"),
        ("ByteDance-Seed/UI-TARS-1.5-7B", "qwen2_5_vl", "ui-tars-1.5"),
        ("Hcompany/Holo3-35B-A3B", "qwen3_5_moe", "qwen3.5"),  # nothing official for Holo3
    ],
)
def test_detection(hub_id: str, model_type: str | None, family: str) -> None:
    assert detect_profile(hub_id, model_type).name == family


def test_profiles_name_their_grid_budget_and_sources() -> None:
    h15, h2, ge = get_profile("holo-1.5"), get_profile("holo-2"), get_profile("gelab-zero")
    assert (h15.grid, h15.min_pixels, h15.max_pixels) == (28, 3136, 1003520)
    assert (h2.grid, h2.min_pixels, h2.max_pixels) == (32, 65536, 16777216)
    assert ge.grid == 32 and ge.format_for("mobile") == "gelab-zero"
    assert h2.format_for("grounding") == "holo-2" and h15.format_for("grounding") == "holo-1.5"
    for p in (h15, h2, ge):
        assert p.sources and all("@" in s and ":" in s for s in p.sources)
