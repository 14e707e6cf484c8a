"""The grounding zoo against the authors' recorded outputs (tests/model/official/grounders).

Official paths followed (all grounding: these models have no agent loop of their own here):
UGround-V1 — grounding/uground_qwen2vl_serve.py (the README's scored "API service mode");
OS-Atlas-Base — its README prompt + the ScreenSpot-Pro adapter's box → centre mapping (the
``qwen2-vl`` dialect); ShowUI — api.py ``extract_norm_point``; GTA1 — the README inference
block (not the OSWorld agent); InfiGUI-G1 — eval/ (think mode); Jedi — OSWorld's
jedi_7b_agent.py grounder (via the OS_Blind fork). Each oracle case is parsed in the authors'
resize mode and must land within 1 px of the official point (after their int() where they
truncate).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.core.actions import Click, Drag, Finish, Hover, Key, RightClick, Scroll, Type
from agent.core.coords import Frame
from agent.core.errors import ParseError
from agent.core.model import ModelRequest
from agent.core.observation import Observation
from agent.export.render import render, same_action, tolerance
from model.parsers import frame_options, parse, spec_for
from model.profiles import detect_profile, get_profile
from model.prompts import build_messages

ORACLE = Path(__file__).parent / "official" / "grounders"
SCREENS = [(720, 1280), (1080, 2400), (1280, 720), (1920, 1080), (2560, 1440), (3840, 2160)]
INFIGUI_STAGE_ONE = 5600 * 28 * 28  # InfiGUI-G1's first resize stage: a no-op at or below


def cases(name: str) -> list[dict[str, Any]]:
    return json.loads((ORACLE / f"{name}_cases.json").read_text(encoding="utf-8"))


def text(name: str) -> str:
    return (ORACLE / name).read_text(encoding="utf-8")


def only_click(fmt: str, raw: str, frame: Frame) -> tuple[float, float]:
    actions = parse(fmt, raw, frame).actions
    assert len(actions) == 1 and isinstance(actions[0], Click), actions
    return actions[0].point


def near(got: tuple[float, float], want: list[float], truncate: bool = False) -> bool:
    if truncate:
        return all(abs(math.floor(g) - w) <= 1 for g, w in zip(got, want, strict=True))
    return all(abs(g - w) <= 1 for g, w in zip(got, want, strict=True))


# ---- 1. oracle ----------------------------------------------------------------------------


def test_the_cases_cover_the_screen_sizes() -> None:
    for name in ("uground", "os-atlas", "showui", "infigui-g1", "jedi"):
        assert {tuple(c["screen"]) for c in cases(name)} == set(SCREENS), name
    assert {tuple(c["screen"]) for c in cases("gta1") if c["screen"]} == set(SCREENS)


@pytest.mark.parametrize("case", cases("uground"), ids=lambda c: f"{c['screen']}{c['text']!r}")
def test_uground_matches_the_official_points(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    frame = spec_for("uground").coords.frame(w, h, mode="resize")
    assert near(only_click("uground", case["text"], frame), case["official"], truncate=True)


@pytest.mark.parametrize("case", cases("showui"), ids=lambda c: f"{c['screen']}{c['text']!r}")
def test_showui_matches_the_official_points(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    frame = spec_for("showui").coords.frame(w, h, mode="resize")
    assert (frame.input_w * frame.input_h) <= 1344 * 28 * 28  # the authors' budget
    assert near(only_click("showui", case["text"], frame), case["official"])


@pytest.mark.parametrize("case", cases("os-atlas"), ids=lambda c: f"{c['screen']}{c['text']!r}")
def test_os_atlas_matches_the_official_points(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    fmt = get_profile("os-atlas").format_for("grounding")
    frame = spec_for(fmt).coords.frame(w, h, mode="resize")
    if case["path"].startswith("Pro:"):  # OS-Atlas-Pro's agent grammar: not a dialect here
        with pytest.raises(ParseError):
            parse(fmt, case["text"], frame)
        return
    point = only_click(fmt, case["text"], frame)
    if case["official"] is None:
        # the ScreenSpot-Pro adapter drops a box touching the edge (0 is not > 0); the box
        # is on screen, so we click its centre (docs/models/grounders.md)
        assert 0 <= point[0] < w and 0 <= point[1] < h
    else:
        assert near(point, case["official"])


GTA1 = [c for c in cases("gta1") if c["mode"] == "gta1-grounding"]


@pytest.mark.parametrize("case", GTA1, ids=lambda c: f"{c['screen']}{c['text']!r}")
def test_gta1_matches_the_readme_points(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    frame = spec_for("gta1").coords.frame(w, h)  # the dialect's own mode: the authors' resize
    assert [frame.input_w, frame.input_h] == case["official"]["readme_resized_wh"]
    assert near(only_click("gta1", case["text"], frame), case["official"]["readme_screen_px"])


def test_gta1_edge_cases() -> None:
    edge = {
        c["text"]: c["official"]["extract_coordinates"] for c in cases("gta1") if not c["screen"]
    }
    same = Frame(screen_w=1932, screen_h=1092, input_w=1932, input_h=1092, mode="resize")
    # the first pair wins, as the README's extract_coordinates
    first = "The point is (100,200) and (5,5)"
    assert near(only_click("gta1", first, same), edge[first])
    # the README answers (0, 0) where it cannot read ints: we read the decimals, never guess
    assert edge["(12.7, 40.2)"] == [0, 0]
    assert only_click("gta1", "(12.7, 40.2)", same) == (12.7, 40.2)
    assert edge["no coords"] == [0, 0]
    with pytest.raises(ParseError):
        parse("gta1", "no coords", same)


INFIGUI = cases("infigui-g1")


@pytest.mark.parametrize("case", INFIGUI, ids=lambda c: f"{c['screen']}{c['text'][:30]!r}")
def test_infigui_g1_matches_the_official_points(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    rw, rh = case["resized"]
    spec = spec_for("infigui-g1").coords
    if w * h <= INFIGUI_STAGE_ONE:  # stage one is a no-op: our one-stage resize is theirs
        planned = spec.frame(w, h)
        assert (planned.input_w, planned.input_h) == (rw, rh)
    # the recorded model input (their two-stage resize where stage one acts)
    frame = Frame(screen_w=w, screen_h=h, input_w=rw, input_h=rh, mode="resize")
    assert near(only_click("infigui-g1", case["text"], frame), case["official"])


@pytest.mark.parametrize("case", cases("jedi"), ids=lambda c: f"{c['screen']}{c['text'][-60:]!r}")
def test_jedi_matches_the_official_points(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    frame = spec_for("jedi").coords.frame(w, h)
    assert [frame.input_w, frame.input_h] == case["resized"]
    actions = parse("jedi", case["text"], frame).actions
    assert len(actions) == 1 and isinstance(actions[0], Click | Hover)
    assert isinstance(actions[0], Hover) == ("mouse_move" in case["text"])
    assert near(actions[0].point, case["official"], truncate=True)


@pytest.mark.parametrize("case", cases("fara"), ids=lambda c: f"{c['screen']}{c['text'][-50:]!r}")
def test_fara_clicks_read_as_qwen25_calls(case: dict[str, Any]) -> None:
    # Fara-7B is no profile (its prompt bytes are missing); its calls are Qwen2.5-VL's
    w, h = case["screen"]
    rw, rh = case["resized"]
    frame = Frame(screen_w=w, screen_h=h, input_w=rw, input_h=rh, mode="resize")
    assert near(
        only_click("qwen2.5-vl", case["text"], frame.with_convention("abs")), case["official"]
    )


# ---- 2. prompts ---------------------------------------------------------------------------


def request(family: str, task: str, w: int = 1920, h: int = 1080) -> ModelRequest:
    fmt = get_profile(family).format_for("grounding")
    spec = spec_for(fmt)
    o = Observation(array=np.zeros((h, w, 3), np.uint8))
    opts = frame_options(fmt)
    if (cap := spec.coords.max_tokens()) is not None:
        opts["max_tokens"] = cap
    frame = o.frame(mode=spec.mode, convention=spec.convention, **opts)
    return ModelRequest(task, o, frame, [])


def turn(family: str, task: str) -> tuple[str | None, list[dict[str, Any]]]:
    msgs = build_messages(request(family, task), family, action_space="grounding")
    system = msgs[0]["content"] if msgs[0]["role"] == "system" else None
    users = [m for m in msgs if m["role"] == "user"]
    assert len(users) == 1
    return system, users[0]["content"]


def kinds(content: list[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in content]


def test_uground_and_os_atlas_prompts_are_byte_equal() -> None:
    system, content = turn("uground", "the search button at the top right")
    assert system is None and kinds(content) == ["image", "text"]
    assert content[1]["text"] == text("uground_example.txt")
    system, content = turn("os-atlas", "switch language of current page")
    assert system is None and kinds(content) == ["image", "text"]
    assert content[1]["text"] == text("os_atlas_example.txt")


def test_showui_prompt_is_the_authors_text_then_the_query() -> None:
    system, content = turn("showui", "Nahant")
    assert system is None and kinds(content) == ["text", "image"]
    assert content[0]["text"] == (
        "Based on the screenshot of the page, I give a text description and you give its "
        "corresponding location. The coordinate represents a clickable location [x, y] for an "
        "element, which is a relative coordinate on the screenshot, scaled from 0 to 1.Nahant"
    )


def test_gta1_prompt_states_the_resized_size() -> None:
    system, content = turn("gta1", "the search box")
    assert system == text("gta1_system_1920x1080.txt")
    assert kinds(content) == ["image", "text"] and content[1]["text"] == "the search box"


def test_infigui_g1_prompt_is_byte_equal() -> None:
    system, content = turn("infigui-g1", "Open the settings menu")
    assert system == (
        "You FIRST think about the reasoning process as an internal monologue and then provide "
        "the final answer.\nThe reasoning process MUST BE enclosed within <think> </think> tags."
    )
    assert kinds(content) == ["image", "text"]
    assert "<image>" + content[1]["text"] == text("infigui_g1_user_1920x1080.txt")


def test_jedi_prompt_is_byte_equal() -> None:
    system, content = turn("jedi", "the {search} box")
    assert system == text("jedi_system_1920x1080.txt")
    assert kinds(content) == ["image", "text"] and content[1]["text"] == "\nthe {search} box"


# ---- 3. round trip ------------------------------------------------------------------------

POINTS = [(0.0, 0.0), (13.0, 977.0), (959.5, 540.25), (1919.0, 1079.0), (640.0, 3.0)]
DIALECTS = ["uground", "showui", "gta1", "infigui-g1", "jedi", "qwen2-vl"]


@pytest.mark.parametrize("mode", ["pad", "resize"])
@pytest.mark.parametrize("fmt", DIALECTS)
def test_clicks_round_trip(fmt: str, mode: str) -> None:
    spec = spec_for(fmt)
    for w, h in ((1920, 1080), (1080, 2400)):
        frame = spec.coords.frame(w, h, mode=mode)  # type: ignore[arg-type]
        for x, y in POINTS:
            sent = [Click(point=(x * w / 1920, y * h / 1080))]
            back = parse(fmt, render(sent, frame, fmt), frame).actions
            assert same_action(sent, back, fmt, tolerance(frame)) is None, (fmt, w, h, x, y)


def test_jedi_round_trips_its_computer_actions() -> None:
    frame = spec_for("jedi").coords.frame(2560, 1440)
    sent = [
        RightClick(point=(100.0, 200.0)),
        Drag(start=(10.0, 20.0), end=(2000.0, 1400.0)),
        Key(keys="ctrl+c"),
        Type(text="hello"),
        Scroll(direction="down", amount=3, point=(500.0, 500.0)),
        Finish(status="success"),
    ]
    for a in sent:
        back = parse("jedi", render([a], frame, "jedi"), frame).actions
        assert same_action([a], back, "jedi", tolerance(frame)) is None, a


@pytest.mark.parametrize("fmt", ["uground", "showui", "gta1", "infigui-g1"])
def test_point_dialects_refuse_what_they_cannot_say(fmt: str) -> None:
    from model.parsers.render import UnsupportedAction

    frame = spec_for(fmt).coords.frame(1920, 1080)
    with pytest.raises(UnsupportedAction):
        render([RightClick(point=(5.0, 5.0))], frame, fmt)


# ---- 4. early stop ------------------------------------------------------------------------

WHOLE = {
    "uground": "(523, 148)",
    "showui": "[0.73, 0.21]",
    "gta1": "(388, 378)",
    "infigui-g1": '<think>gear near [1, 2] at the top</think>\n[{"point_2d": [1892, 30]}]',
    "jedi": '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    '"coordinate": [966, 546]}}\n</tool_call>',
}


@pytest.mark.parametrize("fmt", sorted(WHOLE))
def test_early_stop(fmt: str) -> None:
    whole = WHOLE[fmt]
    done = spec_for(fmt).complete
    assert done(whole)
    for cut in range(1, len(whole) - 1):
        assert not done(whole[:cut]), whole[:cut]


# ---- 5. malformed output ------------------------------------------------------------------

BAD = {
    "uground": ["(523, ", "(nan, 3)", "(1500, 200)", "(-90, 5)", "the button"],
    "showui": [
        "[0.73, ",
        "[0.5, nan]",
        "[1.5, 0.2]",
        "[-0.1, 0.5]",
        "{'action': 'INPUT', 'value': 'Nahant', 'position': [0.49, 0.42]}",
    ],
    "gta1": ["(38", "(1e9, 5)", "(5000,10)", "(inf, 3)"],
    "infigui-g1": [
        "<think>gear at (1, 2)",
        '[{"point_2d": [1892, ',
        '[{"point_2d": [NaN, 30]}]',
        '[{"point_2d": [9000, 30]}]',
        '[{"bbox_2d": [1, 2, 3, 4]}]',
        '[{"point_2d": [1, 2, 3]}]',
    ],
    "jedi": [
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coor',
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "teleport"}}\n</tool_call>',
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [99999, 5]}}\n</tool_call>',
    ],
}


@pytest.mark.parametrize(("fmt", "raw"), [(f, r) for f, rs in BAD.items() for r in rs])
def test_malformed_output_is_a_parse_error(fmt: str, raw: str) -> None:
    frame = spec_for(fmt).coords.frame(1920, 1080)
    with pytest.raises(ParseError):
        parse(fmt, raw, frame)


# ---- 6. detection -------------------------------------------------------------------------

CHECKPOINTS = [
    ("osunlp/UGround-V1-2B", "qwen2_vl", "uground"),
    ("osunlp/UGround-V1-7B", "qwen2_vl", "uground"),
    ("osunlp/UGround-V1-72B", "qwen2_vl", "uground"),
    ("OS-Copilot/OS-Atlas-Base-7B", "qwen2_vl", "os-atlas"),
    ("showlab/ShowUI-2B", "qwen2_vl", "showui"),
    ("Salesforce/GTA1-7B", "qwen2_5_vl", "gta1"),
    ("Salesforce/GTA1-32B", "qwen2_5_vl", "gta1"),
    ("InfiX-ai/InfiGUI-G1-3B", "qwen2_5_vl", "infigui-g1"),
    ("InfiX-ai/InfiGUI-G1-7B", "qwen2_5_vl", "infigui-g1"),
    ("xlangai/Jedi-3B-1080p", "qwen2_5_vl", "jedi"),
    ("xlangai/Jedi-7B-1080p", "qwen2_5_vl", "jedi"),
    ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2_5_vl", "qwen2.5-vl"),
    ("Qwen/Qwen2-VL-7B-Instruct", "qwen2_vl", "qwen2-vl"),
    ("Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl", "qwen3-vl"),
    ("ByteDance-Seed/UI-TARS-1.5-7B", "qwen2_5_vl", "ui-tars-1.5"),
]


@pytest.mark.parametrize(("hub", "model_type", "family"), CHECKPOINTS)
def test_detection(hub: str, model_type: str, family: str) -> None:
    assert detect_profile(hub, model_type).name == family
    assert detect_profile(hub).name == family


@pytest.mark.parametrize("family", ["uground", "os-atlas", "showui", "gta1", "infigui-g1", "jedi"])
def test_computer_is_the_grounding_dialect(family: str) -> None:
    prof = get_profile(family)
    assert prof.format_for("computer") == prof.format_for("grounding")
    assert prof.max_pixels == (spec_for(prof.format).coords.max_pixels or prof.max_pixels)


@pytest.mark.parametrize(("fmt", "raw"), [("uground", "(500, 500)"), ("showui", "[0.5, 0.5]")])
def test_pad_mode_maps_relative_points_through_the_padded_canvas(fmt: str, raw: str) -> None:
    frame = spec_for(fmt).coords.frame(1000, 500)  # the native default: pad
    assert frame.mode == "pad" and (frame.input_w, frame.input_h) == (1008, 504)
    assert only_click(fmt, raw, frame) == (frame.input_w / 2, frame.input_h / 2)
