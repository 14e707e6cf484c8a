"""MAI-UI and UI-Venus: dialects, prompts and profiles against the authors' own code.

Oracles (tests/model/official/maiui_venus/SOURCES.md): outputs of the authors' parsers, run
outside the project on generated replies for screens 720x1280 … 3840x2160, plus all 1581
ScreenSpot-Pro predictions MAI-UI published. Paths followed:

* MAI-UI navigation (``mai-ui``): the agent / MobileWorld benchmark, ``int(v / 999 * W)``,
  swipe direction reversed into a scroll; grounding (``mai-ui-grounding``): the grounding
  eval, ``/ 1000 * W``; the grounding agent class's ``/ 999`` is ``mai-ui-grounding-agent``.
* UI-Venus-1.5 navigation (``ui-venus-1.5``): the deploy framework, ``int(v * W / 1000)``;
  the released eval agent's resized-px reading is ``ui-venus-1.5-eval``; grounding
  (``ui-venus-1.5-grounding``): the eval, ``/ 1000``, ``[-1,-1]`` → finish(failure).

Frames are built in the authors' mode (``resize``: relative spaces then map over the
screenshot exactly as the authors' code does) through ``CoordSpec.frame``.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.core.actions import (
    Back,
    CallUser,
    Click,
    Drag,
    Finish,
    Home,
    Key,
    LongPress,
    Navigate,
    OpenApp,
    Scroll,
    Swipe,
    Type,
    Wait,
)
from agent.core.coords import Frame
from agent.core.errors import ParseError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from agent.export.render import render, same_action, tolerance
from model.parsers import parse, spec_for
from model.profiles import detect_profile
from model.prompts import build_messages

HERE = Path(__file__).parent / "official" / "maiui_venus"
RESEARCH_PROMPTS = HERE / "prompts"


@cache
def cases(name: str) -> list[dict[str, Any]]:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def authors_frame(fmt: str, w: int, h: int) -> Frame:
    return spec_for(fmt).coords.frame(w, h, mode="resize")


def edge(p: tuple[float, float], w: int, h: int) -> tuple[float, float]:
    """The eval agent's clamp to [0, W] x [0, H] (our parser keeps points within the
    on-screen tolerance and clamps when it converts to input units)."""
    return min(max(p[0], 0.0), w), min(max(p[1], 0.0), h)


def near(got: tuple[float, float], want: list[float] | tuple[float, float], tol: float) -> bool:
    return abs(got[0] - want[0]) <= tol and abs(got[1] - want[1]) <= tol


# ---- MAI-UI navigation: MobileWorld's action dicts (int(v / 999 * W)) -----------------------

MW_TYPES = {
    "click": "click",
    "long_press": "long_press",
    "double_tap": "double_click",
    "input_text": "type",
    "scroll": "scroll",
    "open_app": "open_app",
    "drag": "drag",
    "navigate_back": "back",
    "navigate_home": "home",
    "keyboard_enter": "key",
    "unknown": "key",  # system_button menu: MobileWorld has none; we press the menu key
    "wait": "wait",
    "finished": "finish",
    "answer": "finish",
    "ask_user": "call_user",
}
NAV_MAIUI = [c for c in cases("maiui_cases.json") if c["mode"] == "navigation"]


@pytest.mark.parametrize("case", NAV_MAIUI, ids=lambda c: f"{c['kind']}-{c['screen']}")
def test_mai_ui_navigation_matches_mobileworld(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    (action,) = parse("mai-ui", case["text"], authors_frame("mai-ui", w, h)).actions
    mw = case["official"]["mobileworld"]
    assert action.type == MW_TYPES[mw["action_type"]]
    if "x" in mw:  # official int() truncation: within 1 px
        assert near(action.point, (mw["x"], mw["y"]), 1.0)  # type: ignore[union-attr]
    if isinstance(action, Drag):
        assert near(action.start, (mw["start_x"], mw["start_y"]), 1.0)
        assert near(action.end, (mw["end_x"], mw["end_y"]), 1.0)
    if isinstance(action, Scroll):
        assert action.direction == mw["direction"]  # the reversed swipe
    if isinstance(action, Type | OpenApp | CallUser):
        assert mw.get("text", mw.get("app_name")) in (
            getattr(action, "text", None),
            getattr(action, "name", None),
            getattr(action, "question", None),
        )
    if isinstance(action, Finish):
        want = {"success": "success", "fail": "failure"}.get(mw.get("text", ""), "success")
        assert action.status == (want if mw["action_type"] == "finished" else "success")
        assert action.answer == (mw["text"] if mw["action_type"] == "answer" else None)
    # the agent's own normalised floats (/999) times the screen: the same point, unrounded
    px = case["official"]["maiui_agent"]["px_float(norm*W,H)"]
    if "coordinate" in px and not isinstance(action, Scroll | Drag):
        assert near(action.point, px["coordinate"], 1e-6)  # type: ignore[union-attr]
    if isinstance(action, Drag):
        assert near(action.start, px["start_coordinate"], 1e-6)


# ---- MAI-UI grounding: the eval (/1000), the agent class (/999), the published predictions ---

GROUND_MAIUI = [c for c in cases("maiui_cases.json") if c["mode"] == "grounding"]


@pytest.mark.parametrize("case", GROUND_MAIUI, ids=lambda c: f"{c['kind']}-{c['screen']}")
def test_mai_ui_grounding_matches_eval_and_agent(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    official = case["official"]
    (agent,) = parse(
        "mai-ui-grounding-agent", case["text"], authors_frame("mai-ui-grounding-agent", w, h)
    ).actions
    assert isinstance(agent, Click) and near(agent.point, official["agent_/999"]["px"], 1e-6)
    frame = authors_frame("mai-ui-grounding", w, h)
    (ours,) = parse("mai-ui-grounding", case["text"], frame).actions
    assert isinstance(ours, Click)
    pred = official["eval_server_/1000"]["pred"]
    if case["kind"] == "compact":
        assert near(ours.point, pred, 1e-6)
    else:  # "[x, y]" with spaces: the eval's regex scores it wrong_format; the JSON is valid
        assert pred is None
        compact = case["text"].replace(", ", ",").replace('": ', '":')
        (same,) = parse("mai-ui-grounding", compact, frame).actions
        assert same == ours


def test_mai_ui_grounding_reproduces_all_published_sspro_predictions() -> None:
    with gzip.open(HERE / "sspro_published.json.gz", "rt", encoding="utf-8") as f:
        rows = json.load(f)["rows"]
    assert len(rows) == 1581
    misses = []
    for text, w, h, pred in rows:
        (click,) = parse("mai-ui-grounding", text, authors_frame("mai-ui-grounding", w, h)).actions
        if not near(click.point, pred, 1e-6):  # type: ignore[union-attr]
            misses.append((text[-60:], pred, click.point))  # type: ignore[union-attr]
    assert misses == []


# ---- UI-Venus-1.5 navigation: the deploy framework and the eval agent ------------------------

FRAMEWORK_TYPES = {
    "CLK": "click",
    "LongPress": "long_press",
    "INPUT": "type",
    "REOPEN": "open_app",
    "WAIT": "wait",
    "SUCCESS": "finish",
    "CallUser": "call_user",
    "BACK": "back",
    "PressHome": "home",
    "PressEnter": "key",
    "PressMenu": "key",
}
NAV_VENUS = [c for c in cases("venus_cases.json") if c["mode"] == "navigation"]


@pytest.mark.parametrize("case", NAV_VENUS, ids=lambda c: f"{c['kind']}-{c['screen']}")
def test_ui_venus_navigation_matches_framework_and_eval(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    out = case["official"]["venus_framework"]["action_output"]
    agent = case["official"]["models_navigation_agent"]
    if out["action_type"] is None:  # Hover / DoubleClick / Hotkey: both parsers reject them
        assert "error" in agent
        for fmt in ("ui-venus-1.5", "ui-venus-1.5-eval"):
            with pytest.raises(ParseError, match=case["kind"]):
                parse(fmt, case["text"], authors_frame(fmt, w, h))
        return
    parsed = parse("ui-venus-1.5", case["text"], authors_frame("ui-venus-1.5", w, h))
    (action,) = parsed.actions
    assert parsed.thought == case["official"]["venus_framework"]["think"]
    params = agent["action_json"]["params"]
    eval_frame = authors_frame("ui-venus-1.5-eval", w, h)
    assert [eval_frame.input_w, eval_frame.input_h] == agent["resized"]
    try:
        (eval_action,) = parse("ui-venus-1.5-eval", case["text"], eval_frame).actions
    except ParseError:  # 0-1000 numbers read as resized px land off screen: the eval agent
        # clamps them to the edge (x = W or y = H), we refuse them (the house rule)
        edges = [params[k] for k in ("box", "start", "end") if params.get(k)]
        assert any(p[0] == w or p[1] == h for p in edges)
        return
    assert eval_action.type == action.type
    if case["kind"] in ("Drag", "Scroll_coords"):  # framework: SWIPE start → end
        assert isinstance(action, Drag if case["kind"] == "Drag" else Swipe)
        assert near(action.start, out["action_pos"][0], 1.0)
        assert near(action.end, out["action_pos"][1], 1.0)
        assert near(edge(eval_action.start, w, h), params["start"], 1.0)  # type: ignore[union-attr]
        assert near(edge(eval_action.end, w, h), params["end"], 1.0)  # type: ignore[union-attr]
    elif case["kind"] == "Scroll_direction":  # framework: fixed SWIPE_UP whatever the way
        assert isinstance(action, Scroll) and action.direction == params["direction"]
    elif case["kind"] == "Launch_url":  # framework drops the url (REOPEN of ""); eval keeps it
        assert isinstance(action, Navigate) and action.url == params["url"]
    else:
        assert action.type == FRAMEWORK_TYPES[out["action_type"]]
        if out["action_pos"]:
            assert near(action.point, out["action_pos"][0], 1.0)  # type: ignore[union-attr]
            assert near(edge(eval_action.point, w, h), params["box"], 1.0)  # type: ignore[union-attr]
        if isinstance(action, Type):
            assert action.text == params["content"]
        if isinstance(action, OpenApp):
            assert action.name == out["app_name"] == params["app"]
        if isinstance(action, CallUser):
            assert action.question == out["input"]
        if isinstance(action, Finish):
            assert action.answer == (params["content"] or None)
        if isinstance(action, Key):
            assert (
                action.keys
                == {"PressEnter": "enter", "PressMenu": "app_switch"}[out["action_type"]]
            )


GROUND_VENUS = [c for c in cases("venus_cases.json") if c["mode"] == "grounding"]


@pytest.mark.parametrize("case", GROUND_VENUS, ids=lambda c: f"{c['kind']}-{c['screen']}")
def test_ui_venus_grounding_matches_eval(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    fmt = "ui-venus-1.5-grounding"
    (action,) = parse(fmt, case["text"], authors_frame(fmt, w, h)).actions
    if case["official"]["result"] == "infeasible":
        assert isinstance(action, Finish) and action.status == "failure"
    else:
        assert isinstance(action, Click) and near(action.point, case["official"]["px"], 1e-6)


# ---- prompts, byte-equal to the authors' text ----------------------------------------------


def request(fmt: str, task: str, history: list[HistoryItem] | None = None) -> ModelRequest:
    o = Observation(array=np.zeros((1280, 720, 3), np.uint8))
    return ModelRequest(task, o, spec_for(fmt).coords.frame(720, 1280), history or [])


def research(name: str) -> str:
    return (RESEARCH_PROMPTS / name).read_text(encoding="utf-8")


def kinds(content: Any) -> list[str]:
    return [p["type"] for p in content]


def test_mai_ui_prompts_and_chat_structure() -> None:
    task = "Open the settings and turn on Wi-Fi"
    msgs = build_messages(request("mai-ui", task), "mai-ui", action_space="mobile")
    assert msgs[0] == {"role": "system", "content": research("mai_ui_nav_system_thinking.txt")}
    assert msgs[1] == {"role": "user", "content": [{"type": "text", "text": task}]}
    assert [m["role"] for m in msgs] == ["system", "user", "user"]  # task, then screenshot
    assert kinds(msgs[2]["content"]) == ["image"]
    g = build_messages(
        request("mai-ui-grounding", "the OK button"), "mai-ui", action_space="grounding"
    )
    assert g[0]["content"] == research("mai_ui_grounding_system_eval.txt")
    assert g[1]["content"][0]["text"] == "the OK button\n"  # eval: instruction + "\n", text first


def test_ui_venus_prompts_and_chat_structure() -> None:
    task = "Turn on Wi-Fi"
    step1 = build_messages(request("ui-venus-1.5", task), "ui-venus-1.5", action_space="mobile")
    assert step1[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert step1[1]["content"][0]["text"] == research("example_v15_nav_mobile_rendered_step1.txt")
    assert kinds(step1[1]["content"]) == ["text", "image"]
    replies = [
        ("Open Settings from the home screen.", "Launch(app='Settings')"),
        ("Tap the Wi-Fi entry.", "Click(box=(540,312))"),
    ]
    history = [
        HistoryItem(i, f"<think>{t}</think>\n<action>{a}</action>\n<conclusion>ok</conclusion>")
        for i, (t, a) in enumerate(replies)
    ]
    step3 = build_messages(request("ui-venus-1.5", task, history), "ui-venus-1.5", history_images=0)
    assert step3[1]["content"][0]["text"] == research("example_v15_nav_mobile_rendered_step3.txt")
    zh = build_messages(request("ui-venus-1.5", task), "ui-venus-1.5", language="Chinese")
    assert zh[0]["role"] == "user"  # the deploy framework sends no system turn
    assert zh[0]["content"][0]["text"] == research("v15_framework_zh_user_prompt.txt").format(
        user_task=task, previous_actions=""
    )
    g = build_messages(
        request("ui-venus-1.5-grounding", "close this window."),
        "ui-venus-1.5",
        action_space="grounding",
    )
    assert [m["role"] for m in g] == ["user"]
    assert kinds(g[0]["content"]) == ["image", "text"]
    assert g[0]["content"][1]["text"] == research("example_v15_grounding_rendered.txt")


# ---- round trip, early stop, malformed output, detection -----------------------------------

P = (333.25, 617.5)
Q = (95.0, 1100.75)
NAV_ACTIONS: dict[str, list[Any]] = {
    "mai-ui": [
        Click(point=P),
        LongPress(point=Q),
        Drag(start=P, end=Q),
        Type(text='say "hi"\nthere'),
        Type(text="x", point=P, enter=True),
        Scroll(direction="down", point=P),
        Scroll(direction="left"),
        OpenApp(name="Chrome"),
        Back(),
        Home(),
        Key(keys="menu"),
        Wait(),
        Finish(status="failure"),
        Finish(answer="42"),
        CallUser(question="Which account?"),
    ],
    "ui-venus-1.5": [
        Click(point=P),
        LongPress(point=Q),
        Drag(start=P, end=Q),
        Swipe(start=Q, end=P),
        Type(text="it's 杭州"),
        OpenApp(name="Chrome"),
        Navigate(url="https://example.com"),
        Back(),
        Home(),
        Key(keys="enter"),
        Key(keys="app_switch"),
        Wait(),
        Finish(answer="done"),
        CallUser(question="Which one?"),
    ],
}
NAV_ACTIONS["ui-venus-1.5-eval"] = NAV_ACTIONS["ui-venus"] = NAV_ACTIONS["ui-venus-1.5"]
GROUND_ACTIONS = {
    "mai-ui-grounding": [Click(point=P)],
    "mai-ui-grounding-agent": [Click(point=P)],
    "ui-venus-1.5-grounding": [Click(point=P), Finish(status="failure")],
    "ui-venus-grounding": [Click(point=P)],
}
ROUND = [(f, a) for f, acts in {**NAV_ACTIONS, **GROUND_ACTIONS}.items() for a in acts]
SCREENS = [(720, 1280), (1080, 2400), (3840, 2160)]


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("mode", ["pad", "resize"])
@pytest.mark.parametrize(("fmt", "action"), ROUND, ids=lambda v: str(getattr(v, "type", v)))
def test_render_then_parse_gives_the_action_back(
    fmt: str, action: Any, mode: str, screen: tuple[int, int]
) -> None:
    frame = spec_for(fmt).coords.frame(*screen, mode=mode)  # type: ignore[arg-type]
    text = render([action], frame, fmt)
    parsed = parse(fmt, text, frame).actions
    if isinstance(action, Finish) and fmt == "ui-venus-1.5-grounding":
        assert parsed[0].type == "finish" and parsed[0].status == "failure"  # type: ignore[union-attr]
        return
    assert same_action([action], parsed, fmt, tolerance(frame)) is None, text


COMPLETE = {
    "mai-ui": '<thinking>\nuse </tool_call> later\n</thinking>\n<tool_call>\n{"name": '
    '"mobile_use", "arguments": {"action": "click", "coordinate": [5, 6]}}\n</tool_call>',
    "mai-ui-grounding": "<grounding_think>\nsay </answer>\n</grounding_think>\n<answer>\n"
    '{"coordinate":[5,6]}\n</answer>',
    "ui-venus-1.5": "<think>not </action> yet</think>\n<action>Click(box=(5,6))</action>",
    "ui-venus-1.5-grounding": "[512,300]",
}


@pytest.mark.parametrize("fmt", COMPLETE)
def test_early_stop_waits_for_the_end_of_the_action(fmt: str) -> None:
    text = COMPLETE[fmt]
    done = spec_for(fmt).complete
    assert done(text)
    cut = len(text) - 1 if fmt.endswith("grounding") and "venus" in fmt else text.rfind("</")
    for end in range(1, cut):
        assert not done(text[:end]), text[:end]


MALFORMED = {
    "mai-ui": [
        '<thinking>x</thinking><tool_call>\n{"name": "mobile_use", "arguments": {"action": "cl',
        '<tool_call>{"name": "mobile_use", "arguments": {"action": "fly"}}</tool_call>',
        '<tool_call>{"name": "mcp_x", "arguments": {"action": "click"}}</tool_call>',
        '<tool_call>{"name":"mobile_use","arguments":{"action":"click","coordinate":[5000,5]}}'
        "</tool_call>",
        '<tool_call>{"name":"mobile_use","arguments":{"action":"click","coordinate":[NaN,5]}}'
        "</tool_call>",
        '<tool_call>{"name":"mobile_use","arguments":{"action":"swipe","direction":"in"}}'
        "</tool_call>",
        "<thinking>no call</thinking>",
    ],
    "mai-ui-grounding": [
        '<answer>\n{"coordinate":[5,6]',
        "<answer>[5,6]</answer>",
        '<answer>{"coordinate":[1500,6]}</answer>',
        '<answer>{"coordinate":[5]}</answer>',
    ],
    "ui-venus-1.5": [
        "<think>x</think><action>Click(box=(5,6)",
        "<think>x</think><action>PressBack()",
        "<action>Fly(box=(5,6))</action>",
        "<action>Click(box=(1200,6))</action>",
        "<action>Click(box=(nan,6))</action>",
        "<action>Hotkey(keys=['ctrl', 'c'])</action>",
        "<action>Launch()</action>",
        "<think>nothing</think>",
    ],
    "ui-venus-1.5-grounding": ["[5", "[-5,20]", "[1300,20]", "[1,2,3]", "no point", "[nan,1]"],
}


@pytest.mark.parametrize(("fmt", "text"), [(f, t) for f, ts in MALFORMED.items() for t in ts])
def test_malformed_output_is_a_parse_error(fmt: str, text: str) -> None:
    with pytest.raises(ParseError):
        parse(fmt, text, spec_for(fmt).coords.frame(1080, 2400))


@pytest.mark.parametrize(
    ("hub_id", "model_type", "family"),
    [
        ("Tongyi-MAI/MAI-UI-2B", "qwen3_vl", "mai-ui"),
        ("Tongyi-MAI/MAI-UI-8B", None, "mai-ui"),
        ("inclusionAI/UI-Venus-1.5-2B", "qwen3_vl", "ui-venus-1.5"),
        ("inclusionAI/UI-Venus-1.5-8B", None, "ui-venus-1.5"),
        ("inclusionAI/UI-Venus-1.5-30B-A3B", "qwen3_vl_moe", "ui-venus-1.5"),
        ("inclusionAI/UI-Venus-Navi-7B", "qwen2_5_vl", "ui-venus"),
        ("inclusionAI/UI-Venus-Ground-72B", None, "ui-venus"),
        ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2_5_vl", "qwen2.5-vl"),
        ("Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl", "qwen3-vl"),
        ("ByteDance-Seed/UI-TARS-1.5-7B", "qwen2_5_vl", "ui-tars-1.5"),
    ],
)
def test_detection(hub_id: str, model_type: str | None, family: str) -> None:
    assert detect_profile(hub_id, model_type).name == family


def test_profiles_point_at_their_dialects() -> None:
    mai, venus = detect_profile("Tongyi-MAI/MAI-UI-8B"), detect_profile("UI-Venus-1.5-8B")
    assert mai.format_for("mobile") == "mai-ui" and mai.grid == venus.grid == 32
    assert mai.format_for("grounding") == "mai-ui-grounding"
    assert venus.format_for("grounding") == "ui-venus-1.5-grounding"
    assert spec_for("ui-venus-1.5").coords.prompt_size(request("ui-venus-1.5", "t").frame) == (
        999,
        999,
    )


def test_ui_venus_1_0_grounding_reproduces_the_published_example() -> None:
    # inclusionAI/UI-Venus@c3a1442 examples/grounding_result_format.json (an OSWorld-G
    # 1920x1080 screenshot): raw "[1748,415,1769,430]" → pred [1435.51…, 339.50…], the
    # 72B script's budget (min 3110400, max 48000000 px; the dialect's default is the 7B's)
    frame = spec_for("ui-venus-grounding").coords.frame(
        1920, 1080, min_pixels=3110400, max_tokens=48000000 // 28**2
    )
    (click,) = parse("ui-venus-grounding", "[1748,415,1769,430]", frame).actions
    assert near(click.point, (1435.5102040816325, 339.5089285714286), 1e-6)  # type: ignore[union-attr]


@pytest.mark.parametrize(("fmt", "action"), ROUND, ids=lambda v: str(getattr(v, "type", v)))
def test_precise_rendering_calibrates_to_zero(fmt: str, action: Any) -> None:
    frame = spec_for(fmt).coords.frame(1080, 2400)
    parsed = parse(fmt, render([action], frame, fmt, precise=True), frame).actions
    if isinstance(action, Finish) and fmt == "ui-venus-1.5-grounding":
        return
    assert same_action([action], parsed, fmt, 1e-4) is None
