"""Model output parsers: the API, the worked examples of docs/concepts/coordinates.md, limits
and round trips at DSF 1 and 2 and odd sizes (per-format cases live in test_parsers_formats.py)."""

from __future__ import annotations

import time

import pytest

from agent.core.actions import (
    Back,
    CallUser,
    Click,
    DoubleClick,
    Drag,
    Finish,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    Scroll,
    Swipe,
    Type,
    Wait,
)
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
from tests.model.dialect_samples import BASE  # every dialect: tests/model/test_registry.py

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
    assert set(FORMATS) >= set(BASE)
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


# ---- worked examples (docs/concepts/coordinates.md) ----------------------------------------


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
@pytest.mark.parametrize("fmt", BASE)
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


# ---- every branch and error of the text formats, exactly --------------------------------
# Each case pins what the parser returns: (thought, actions in screenshot px), or the error's
# (fragment, reason); BODY: the whole text; a reason ending in "…" is a prefix.

BODY = object()
BOX = (193.20000000000002, 109.2, 386.40000000000003, 218.4)  # (100,100,200,200) on HD
B, E = "<|box_start|>", "<|box_end|>"
R, RE = "<|object_ref_start|>", "<|object_ref_end|>"


def outcome(fmt: str, text: str) -> tuple[object, object]:
    try:
        parsed = parse(fmt, text, HD)
    except ParseError as err:
        assert err.format == fmt and err.code == "parse"
        return (BODY if err.text == text else err.text), err.reason
    return parsed.thought, parsed.actions


def check(fmt: str, text: str, expected: tuple[object, object]) -> None:
    got, want = outcome(fmt, text), expected[1]
    if isinstance(want, str) and want.endswith("…") and isinstance(got[1], str):
        assert (got[0], got[1][: len(want) - 1]) == (expected[0], want[:-1]), got
    else:
        assert got == expected, got


# fmt: off
UITARS_CASES = [
    ('Action: click()', ('click()', 'click needs start_box')),
    ("Action: click(start_box='')", ("click(start_box='')", 'click needs start_box')),
    ("Action: click(point='(500,500)')", (None, [Click(point=(966.0, 546.0))])),
    ("Action: left_double(start_box='(100,100,200,200)')",
     (None, [DoubleClick(point=(289.8, 163.8), box=BOX)])),
    ("Action: long_press(start_box='(500,500)', time='2')",
     (None, [LongPress(point=(966.0, 546.0), duration=2.0)])),
    ("Action: long_press(start_box='(500,500)', duration='3')",
     (None, [LongPress(point=(966.0, 546.0), duration=3.0)])),
    ("Action: long_press(start_box='(500,500)', time='x')", ("'x'", 'time must be a number')),
    ("Action: long_press(start_box='(100,100,200,200)')",
     (None, [LongPress(point=(289.8, 163.8), box=BOX, duration=1.0)])),
    ("Action: select(start_box='(1,1)', end_box='(9,9)')",
     (None, [Drag(start=(1.932, 1.092), end=(17.387999999999998, 9.828))])),
    ("Action: swipe(start_box='(1,1)', end_point='(9,9)')",
     (None, [Drag(start=(1.932, 1.092), end=(17.387999999999998, 9.828))])),
    ("Action: drag(start_box='(1,1)')", ("drag(start_box='(1,1)')", 'drag needs end_box')),
    ("Action: click(start_box='(1,2,3)')",
     ('(1,2,3)', 'expected 2 (point) or 4 (box) numbers, got 3')),
    ("Action: click(start_box='(1,2,3,4,5)')",
     ('(1,2,3,4,5)', 'too many numbers for a point or a box')),
    ("Action: click(start_box='(a,2)')", ('(a,2)', "'a' is not a number")),
    ("Action: click(start_box='(100,100,5000,200)')",
     ('(100,100,5000,200)', 'bad box: point (9660.0, 218.4) is outside the 1920x1080 scree…')),
    ("Action: press(key='enter')", (None, [Key(keys='enter')])),
    ("Action: key(keys='ctrl c')", (None, [Key(keys='ctrl+c')])),
    ("Action: hotkey(hotkey='ctrl v')", (None, [Key(keys='ctrl+v')])),
    ('Action: hotkey()', ('hotkey()', "hotkey needs key='…'")),
    ("Action: type(text='hi')", (None, [Type(text='hi')])),
    ("Action: type(content='a\\n')", (None, [Type(text='a', enter=True)])),
    ('Action: type()', ('type()', "type needs content='…'")),
    ("Action: scroll(start_box='(1,1)', end_box='(9,9)')",
     (None, [Swipe(start=(1.932, 1.092), end=(17.387999999999998, 9.828), duration=0.3)])),
    ("Action: scroll(start_box='(1,1)', end_box='(9,9)', direction='up')",
     (None, [Scroll(direction='up', amount=5, point=(1.932, 1.092))])),
    ("Action: scroll(direction=' Down ')", (None, [Scroll(direction='down', amount=5)])),
    ("Action: scroll(direction='sideways')",
     ("scroll(direction='sideways')", "scroll needs direction='up|down|left|right'")),
    ('Action: scroll()', ('scroll()', "scroll needs direction='up|down|left|right'")),
    ("Action: finish(answer='  done ')", (None, [Finish(status='success', answer='done ')])),
    ("Action: finished(content='')", (None, [Finish(status='success')])),
    ("Action: open(name='Maps')", (None, [OpenApp(name='Maps')])),
    ("Action: open_app(text=' Mail ')", (None, [OpenApp(name='Mail')])),
    ("Action: open_app(app_name='  ')",
     ("open_app(app_name='  ')", "open_app needs app_name='…'")),
    ('Action: navigate_home()', (None, [Home(type='home')])),
    ('Action: navigate_back()', (None, [Back(type='back')])),
    ("Action: call_user(question='which?')", (None, [CallUser(question='which?')])),
    ('Action: call_user()', (None, [CallUser(question='')])),
    ('Action: fly()', ('fly()', "unknown UI-TARS action 'fly'")),
    ('Action: ', (BODY, "no action after 'Action:'")),
    ('Thought: a\nReflection: b\nAction_Summary: c\nAction: wait()',
     ('a', [Wait(seconds=5.0)])),
    ('Reflection: b\nAction_Summary: c\nAction: wait()', ('c', [Wait(seconds=5.0)])),
    ('Reflection: only\nAction: wait()', ('only', [Wait(seconds=5.0)])),
    ('Thought:   \nAction_Summary: s\nAction: wait()', ('s', [Wait(seconds=5.0)])),
    ('plain words\nAction: wait()', ('plain words', [Wait(seconds=5.0)])),
    ('Action: click(start_box=(1,1))', (None, [Click(point=(1.932, 1.092))])),
    ('Action: click(start_box=[1,1])', (None, [Click(point=(1.932, 1.092))])),
    ('Action: click(start_box=(1,1)',
     ('click(start_box=(1,1)', "expected ',' or ')' after an argument")),
    ('Action: click(start_box=)', ('click(start_box=)', 'expected a value')),
    ("Action: click(start_box='(1,1)' x)", ("'(1,1)' x)", 'unterminated string')),
    ("Action: click(start_box='(1,1)', start_box='(2,2)')",
     ("click(start_box='(1,1)', start_box=", "argument 'start_box' given twice")),
    ("Action: click('(1,1)')", ("click('(1,1)')", "expected a keyword argument (key='value')")),
    ('Action: (1,1)', ('(1,1)', 'expected an action name like click(...)')),
    ("Action: click(start_box='(1,1)", ("'(1,1)", 'unterminated string')),
    ("Action: type(content='it's ok')", (None, [Type(text="it's ok")])),
    ('Action: type(content="say \\"hi\\"")', (None, [Type(text='say "hi"')])),
    ("Action: click(start_box='(1,1)')  \nwait()",
     (None, [Click(point=(1.932, 1.092)), Wait(seconds=5.0)])),
    ('Action: click(start_box=(1,1) )', (None, [Click(point=(1.932, 1.092))])),
    ("Action: click(start_box=(" + "1," * 150 + ")",
     ("click(start_box=(" + "1," * 29 + "1", "unclosed '('")),
    ('Action: wait(x=1, y=2)', (None, [Wait(seconds=5.0)])),
    ('Action: wait() wait()', (None, [Wait(seconds=5.0), Wait(seconds=5.0)])),
]
GROUNDING_CASES = [
    ('Drag ' + B + '(1,1)' + E,
     (B + '(1,1)' + E, 'drag needs a second box to drag to')),
    ('Drag ' + B + '(1,1)' + E + ' to ' + B + '(9,9)' + E + ' then ' + B + '(5,5)' + E,
     ('Drag', [Drag(start=(1.932, 1.092), end=(17.387999999999998, 9.828)),
               Click(point=(9.66, 5.46))])),
    ("Type 'x' into " + B + "(1,1)" + E + " and " + B + "(2,2)" + E,
     ("Type 'x' into", [Type(text='x', point=(1.932, 1.092)), Click(point=(3.864, 2.184))])),
    ('scroll up at ' + B + '(500,500)' + E,
     ('scroll up at', [Scroll(direction='up', amount=5, point=(966.0, 546.0))])),
    ('intro ' + E, (E, E + ' without its opening tag')),
    ('intro ' + B + '(1,1)',
     (B + '(1,1)', B + ' is not closed by ' + E)),
    (R + 'Name' + RE, (BODY, 'reference without a box')),
    ('just words', (BODY, 'no ' + B + '…' + E + ' found')),
    (R + 'OK' + RE + ' ' + B + '(1,1)' + E + ' double click ' + R + RE + B + '(2,2)' + E,
     (None, [Click(point=(1.932, 1.092), target='OK'), DoubleClick(point=(3.864, 2.184))])),
    (B + '(0,0),(5000,10)' + E,
     ('(0,0),(5000,10)', 'bad box: point (9660.0, 10.9) is outside the 1920x1080 screenshot by…')),
    ('<ref>A</ref><box>(1,1),(2,2)</box> hover <box>(3,3)</box>',
     (None, [Click(point=(2.8979999999999997, 1.6380000000000001),
                   box=(1.932, 1.092, 3.864, 2.184), target='A'),
             Hover(point=(5.796, 3.2760000000000002))])),
]
JSON_CASES = [
    ('nothing', (BODY, 'no JSON action object found')),
    ('{"type": "click", "point": [1, 2], "extra": 1}',
     (BODY, 'invalid action (ValidationError: 1 validation error for tagged-union…')),
    ('{"action": {"type": "wait"}, "thought": 5}', (BODY, "'thought' must be a string")),
    ('{"actions": 5}', (BODY, 'expected an action object or a list of them')),
    ('{"actions": [{"type": "wait"}], "thought": "t"}', ('t', [Wait(seconds=1.0)])),
    ('{"action": {"type": "wait"}, "mood": "ok"}', (BODY, "unexpected keys ['mood']")),
    ('Plan:\n```json\n{"type": "wait"}\n```', ('Plan:', [Wait(seconds=1.0)])),
    ('```\n{"type": "wait"}\n```', (None, [Wait(seconds=1.0)])),
    ('``` json x\n[{"type": "wait"}]\n```', ('json x', [Wait(seconds=1.0)])),
    ('prose [1] then {"type": "wait"}', ('prose [1] then', [Wait(seconds=1.0)])),
    ('bad {"type": } good {"type": "wait"}', ('bad {"type": } good', [Wait(seconds=1.0)])),
    ('```json\n{"type": "wait"}', (None, [Wait(seconds=1.0)])),
    ('{"type": "fly"}',
     (BODY, 'invalid action (ValidationError: 1 validation error for tagged-union…')),
    ('[{"type": "wait"}, 3]', (BODY, 'no JSON action object found')),
    ('{"type": "click", "point": [1, "a"]}',
     (BODY, 'invalid action (ValidationError: 1 validation error for tagged-union…')),
]
# fmt: on


@pytest.mark.parametrize(("text", "expected"), UITARS_CASES)
def test_ui_tars_exactly(text: str, expected: tuple[object, object]) -> None:
    check("ui-tars", text, expected)


@pytest.mark.parametrize(("text", "expected"), GROUNDING_CASES)
def test_grounding_exactly(text: str, expected: tuple[object, object]) -> None:
    check("qwen-vl" if text.startswith("<ref>") else "qwen2-vl", text, expected)


@pytest.mark.parametrize(("text", "expected"), JSON_CASES)
def test_json_exactly(text: str, expected: tuple[object, object]) -> None:
    check("json", text, expected)
