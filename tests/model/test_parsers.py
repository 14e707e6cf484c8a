"""Model output parsers: the API, the DESIGN.md worked examples, limits and round trips at
DSF 1 and 2 and odd sizes (per-format cases live in test_parsers_formats.py)."""

from __future__ import annotations

import time

import pytest

from agent.core.actions import Click, Wait
from agent.core.coords import Frame, screen_to_input, screen_to_model
from agent.core.errors import ConfigError, ParseError
from model.parsers import (
    FORMATS,
    MAX_TEXT_CHARS,
    Parsed,
    convention_for,
    frame_options,
    mode_for,
    parse,
)

HD = Frame.for_screen(1920, 1080)  # pad → 1932x1092 model input


def one(fmt: str, text: str, frame: Frame = HD):
    parsed = parse(fmt, text, frame)
    assert len(parsed.actions) == 1, parsed
    return parsed.actions[0]


def approx_pt(p, q, tol=1e-6) -> bool:
    return abs(p[0] - q[0]) <= tol and abs(p[1] - q[1]) <= tol


def error(fmt: str, text: str, frame: Frame = HD) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(fmt, text, frame)
    assert info.value.format == fmt
    return info.value


# ---- API ---------------------------------------------------------------------------------


def test_formats_and_their_conventions():
    assert set(FORMATS) == {
        "json", "qwen-vl", "qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3-vl-mobile", "ui-tars",
        "ui-tars-1.5",
    }  # fmt: skip
    expected = {
        "qwen3-vl": ("norm1000", "pad"),
        "qwen3-vl-mobile": ("norm999", "pad"),
        "json": ("screen", "pad"),
        "qwen-vl": ("norm1000", "pad"),
        "qwen2-vl": ("norm1000", "pad"),
        "qwen2.5-vl": ("abs", "pad"),
        "ui-tars": ("norm1000", "pad"),
        "ui-tars-1.5": ("abs", "resize"),
    }
    for name, (conv, mode) in expected.items():
        assert FORMATS[name].name == name
        assert convention_for(name) == conv and mode_for(name) == mode


def test_unknown_format_is_a_config_error_listing_known_names():
    for call in (lambda: parse("gpt", "x", HD), lambda: convention_for("gpt")):
        with pytest.raises(ConfigError) as info:
            call()
        assert "qwen2-vl" in str(info.value) and "ui-tars-1.5" in str(info.value)


def test_frame_convention_is_replaced_by_the_formats():
    frame = Frame.for_screen(1920, 1080, convention="screen")
    a = one("qwen2-vl", "<|box_start|>(500,500)<|box_end|>", frame)
    assert approx_pt(a.point, (966.0, 546.0))


# ---- DESIGN.md worked examples -------------------------------------------------------------


def test_worked_example_qwen2_vl_pad():
    assert (HD.input_w, HD.input_h) == (1932, 1092)
    text = "<|object_ref_start|>OK<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>"
    a = one("qwen2-vl", text)
    assert isinstance(a, Click) and a.target == "OK"
    assert a.box == pytest.approx((193.2, 109.2, 386.4, 218.4))
    assert a.point == pytest.approx((289.8, 163.8))
    assert screen_to_input(HD, *a.point) == (290, 164)


def test_worked_example_ui_tars_15_resize():
    frame = Frame.for_screen(1920, 1080, mode="resize", convention="abs")
    assert (frame.input_w, frame.input_h) == (1932, 1092)
    a = one("ui-tars-1.5", "Thought: the button\nAction: click(start_box='(197,525)')", frame)
    assert a.point == pytest.approx((195.8, 519.2), abs=0.05)
    assert screen_to_input(frame, *a.point) == (196, 519)


def test_worked_example_dsf_2():
    frame = Frame.for_screen(2560, 1600, scale=2)
    a = one("json", '{"type": "click", "point": [500, 300]}', frame)
    assert a.point == (500.0, 300.0)
    assert screen_to_input(frame, *a.point) == (250, 150)


# ---- limits and robustness ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_empty_long_and_non_text(fmt):
    error(fmt, "")
    error(fmt, "   \n<|im_end|>")
    err = error(fmt, "x" * (MAX_TEXT_CHARS + 1))
    assert len(err.text) <= 200
    error(fmt, None)  # type: ignore[arg-type]


def test_too_many_actions():
    error("ui-tars", "Action: " + "wait()\n" * 60)


def test_end_tokens_are_ignored():
    assert one("ui-tars", "Action: wait()<|im_end|>") == Wait(seconds=5)


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize(
    "evil",
    [
        "[" * 50_000,
        "{" * 50_000,
        '{"a":' * 20_000,
        "<ref>" * 15_000,
        "<|box_start|>(" + "1," * 40_000,
        "Action: click(start_box='" + "\\'" * 40_000,
        'type "' * 15_000,
        "```" * 30_000,
        "<tool_call>" * 8_000,
        "Action: " + "a(" * 30_000,
    ],
)
def test_pathological_inputs_fail_fast(fmt, evil):
    t0 = time.perf_counter()
    with pytest.raises(ParseError):
        parse(fmt, evil[:MAX_TEXT_CHARS], HD)
    assert time.perf_counter() - t0 < 2.0


def test_parsed_is_a_plain_dataclass():
    p = Parsed(thought=None, actions=[])
    assert p.thought is None and p.actions == []


# ---- round trips: screenshot px → model text → parse → screenshot px ----------------------

SIZES = [
    (1920, 1080, 1.0),
    (2560, 1600, 2.0),
    (1366, 768, 1.0),
    (1366, 768, 2.0),
    (1080, 2400, 1.0),
    (1080, 2400, 2.0),
    (3840, 2160, 1.0),
    (3840, 2160, 2.0),
]


def sample_points(w: int, h: int) -> list[tuple[float, float]]:
    pts = [(0.0, 0.0), (w - 1.0, h - 1.0), (w / 2, h / 2), (w - 1.0, 0.0), (0.0, h - 1.0)]
    pts += [(w * fx, h * fy) for fx, fy in [(0.137, 0.911), (0.5031, 0.0217), (0.77, 0.333)]]
    pts += [(w * 0.3 + 0.25, h * 0.6 + 0.75)]
    return pts


def render(fmt: str, mx: float, my: float, integers: bool) -> str:
    """Model text for one model-frame point, as the real model would print it."""
    x, y = (f"{round(mx)}", f"{round(my)}") if integers else (f"{mx:.4f}", f"{my:.4f}")
    return {
        "qwen-vl": f"<ref>target</ref><box>({x},{y}),({x},{y})</box>",
        "qwen2-vl": f"<|object_ref_start|>t<|object_ref_end|><|box_start|>({x},{y})<|box_end|>",
        "qwen2.5-vl": tool_call_raw(x, y),
        "qwen3-vl": tool_call_raw(x, y),
        "qwen3-vl-mobile": '<tool_call>\n{"name": "mobile_use", "arguments": '
        f'{{"action": "click", "coordinate": [{x}, {y}]}}}}\n</tool_call>',
        "ui-tars": f"Thought: go\nAction: click(start_box='<|box_start|>({x},{y})<|box_end|>')",
        "ui-tars-1.5": f"Thought: go\nAction: click(start_box='({x},{y})')",
        "json": f'{{"type": "click", "point": [{x}, {y}]}}',
    }[fmt]


def tool_call_raw(x: str, y: str) -> str:
    return (
        '<tool_call>\n{"name": "computer_use", "arguments": '
        f'{{"action": "left_click", "coordinate": [{x}, {y}]}}}}\n</tool_call>'
    )


@pytest.mark.parametrize(("w", "h", "dsf"), SIZES)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip(fmt, w, h, dsf):
    frame = Frame.for_screen(
        w, h, mode=mode_for(fmt), convention=convention_for(fmt), scale=dsf, **frame_options(fmt)
    )
    sx_per_in, sy_per_in = w / frame.input_w, h / frame.input_h
    if frame.mode == "pad":
        sx_per_in = sy_per_in = 1.0
    for px, py in sample_points(w, h):
        mx, my = screen_to_model(frame, px, py)
        # precise (float) output: exact to well under half a pixel
        a = one(fmt, render(fmt, mx, my, integers=False), frame)
        assert approx_pt(a.point, (px, py), tol=0.5), (fmt, px, py, a.point)
        # integer output, as models print it: the quantisation step of the convention
        if frame.convention in ("norm1000", "norm999"):
            full = 1000 if frame.convention == "norm1000" else 999
            tx, ty = frame.input_w / full * sx_per_in, frame.input_h / full * sy_per_in
        elif frame.convention == "abs":
            tx, ty = 0.5 * sx_per_in, 0.5 * sy_per_in
        else:
            tx = ty = 0.5
        b = one(fmt, render(fmt, mx, my, integers=True), frame)
        assert abs(b.point[0] - px) <= tx + 1e-9 and abs(b.point[1] - py) <= ty + 1e-9
        # input units agree with converting the original point directly
        ux, uy = screen_to_input(frame, *a.point)
        vx, vy = screen_to_input(frame, px, py)
        assert abs(ux - vx) <= 1 and abs(uy - vy) <= 1
