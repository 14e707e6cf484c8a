"""Model output parsers, format by format: qwen-vl, qwen2-vl, qwen2.5-vl, ui-tars(-1.5), json."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

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
    MiddleClick,
    OpenApp,
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
)
from agent.core.coords import Frame
from agent.core.errors import CoordinateError, ParseError
from model.parsers import parse

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


# ---- qwen-vl / qwen2-vl ------------------------------------------------------------------

QWEN_TAGS = {
    "qwen-vl": ("<ref>{}</ref>", "<box>{}</box>"),
    "qwen2-vl": ("<|object_ref_start|>{}<|object_ref_end|>", "<|box_start|>{}<|box_end|>"),
}


def grounded(fmt: str, ref: str, coords: str) -> str:
    r, b = QWEN_TAGS[fmt]
    return r.format(ref) + b.format(coords)


@pytest.mark.parametrize("fmt", list(QWEN_TAGS))
@pytest.mark.parametrize(
    ("verb", "cls"),
    [
        ("", Click),
        ("Click", Click),
        ("I will double click", DoubleClick),
        ("double-click", DoubleClick),
        ("Right-click", RightClick),
        ("middle click", MiddleClick),
        ("hover over", Hover),
        ("long press", LongPress),
        ("tap", Click),
    ],
)
def test_grounding_verbs(fmt, verb, cls):
    parsed = parse(fmt, f"{verb} {grounded(fmt, 'Save', '(100,100),(200,200)')}", HD)
    (a,) = parsed.actions
    assert type(a) is cls and a.target == "Save"
    assert a.point == pytest.approx((289.8, 163.8))
    assert parsed.thought == (verb or None)


@pytest.mark.parametrize("fmt", list(QWEN_TAGS))
def test_grounding_type_into_drag_scroll_and_many(fmt):
    a = one(fmt, f'type "hello world" into {grounded(fmt, "search", "(0,0),(100,100)")}')
    assert isinstance(a, Type) and a.text == "hello world"
    assert a.point == pytest.approx((96.6, 54.6))
    assert a.box == pytest.approx((0, 0, 193.2, 109.2))

    text = f"drag {grounded(fmt, 'a', '(100,100)')} to {grounded(fmt, 'b', '(500,500)')}"
    d = one(fmt, text)
    assert isinstance(d, Drag)
    assert d.start == pytest.approx((193.2, 109.2)) and d.end == pytest.approx((966, 546))

    s = one(fmt, f"scroll down at {grounded(fmt, 'list', '(500,500)')}")
    assert isinstance(s, Scroll) and s.direction == "down" and s.point == pytest.approx((966, 546))

    a_ref, b_ref = grounded(fmt, "A", "(10,10),(20,20)"), grounded(fmt, "B", "(30,30),(40,40)")
    text = f"click {a_ref} then right click {b_ref}"
    parsed = parse(fmt, text, HD)
    assert [type(x) for x in parsed.actions] == [Click, RightClick]
    assert [x.target for x in parsed.actions] == ["A", "B"]


@pytest.mark.parametrize("fmt", list(QWEN_TAGS))
def test_grounding_bare_point_and_box_without_ref(fmt):
    _, b = QWEN_TAGS[fmt]
    a = one(fmt, b.format("(500, 500)"))
    assert a.point == pytest.approx((966.0, 546.0)) and a.box is None and a.target is None


@pytest.mark.parametrize("fmt", list(QWEN_TAGS))
@pytest.mark.parametrize(
    "bad",
    [
        "click the OK button",
        "{r}",  # reference without a box
        "{b_open}(1,2),(3,4)",  # unclosed
        "(1,2){b_close}",  # stray closing tag
        "{b_open}(1,2,3){b_close}",  # three numbers
        "{b_open}(1,two){b_close}",
        "{b_open}(1,2)(3,4)(5,6){b_close}",
        "{b_open}(5000,5000){b_close}",  # far off screen
        "{b_open}(-100,10){b_close}",
        "{b_open}(nan,10){b_close}",
        "{b_open}(1e999,10){b_close}",
        "drag {b_open}(1,2){b_close}",  # drag without an end
    ],
)
def test_grounding_errors(fmt, bad):
    r, b = QWEN_TAGS[fmt]
    b_open, b_close = b.split("{}")
    text = bad.format(r=r.format("x"), b_open=b_open, b_close=b_close)
    err = error(fmt, text)
    assert err.text  # names the offending fragment


def test_grounding_off_screen_error_chains_coordinate_error():
    err = error("qwen2-vl", "<|box_start|>(5000,5000)<|box_end|>")
    assert isinstance(err.__cause__, CoordinateError)
    assert "(5000,5000)" in err.text


# ---- qwen2.5-vl --------------------------------------------------------------------------


def tool_call(name: str, **arguments) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"


def test_qwen25_grounding_json():
    a = one("qwen2.5-vl", '```json\n[{"bbox_2d": [100, 200, 300, 400], "label": "OK"}]\n```')
    assert isinstance(a, Click) and a.target == "OK"
    assert a.point == (200.0, 300.0) and a.box == (100.0, 200.0, 300.0, 400.0)
    a = one("qwen2.5-vl", '{"point_2d": [50, 60], "label": "icon"}')
    assert a.point == (50.0, 60.0) and a.box is None
    parsed = parse(
        "qwen2.5-vl",
        'Found two:\n[{"bbox_2d": [0,0,10,10], "label": "a"}, {"point_2d": [5,5], "label": "b"}]',
        HD,
    )
    assert [x.target for x in parsed.actions] == ["a", "b"] and parsed.thought == "Found two:"
    a = one("qwen2.5-vl", 'double click it: {"point_2d": [50, 60]}')
    assert isinstance(a, DoubleClick)


def test_qwen25_resize_mode_scales_back():
    frame = Frame.for_screen(1920, 1080, mode="resize")
    a = one("qwen2.5-vl", '{"point_2d": [966, 546]}', frame)
    assert a.point == pytest.approx((960.0, 540.0))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"action": "left_click", "coordinate": [100, 200]}, Click(point=(100, 200))),
        ({"action": "right_click", "coordinate": [100, 200]}, RightClick(point=(100, 200))),
        ({"action": "middle_click", "coordinate": [100, 200]}, MiddleClick(point=(100, 200))),
        ({"action": "double_click", "coordinate": [100, 200]}, DoubleClick(point=(100, 200))),
        ({"action": "mouse_move", "coordinate": [100, 200]}, Hover(point=(100, 200))),
        ({"action": "key", "keys": ["ctrl", "c"]}, Key(keys="ctrl+c")),
        ({"action": "key", "keys": ["Return"]}, Key(keys="enter")),
        ({"action": "type", "text": "hi there"}, Type(text="hi there")),
        (
            {"action": "left_click_drag", "startCoordinate": [1, 2], "coordinate": [30, 40]},
            Drag(start=(1, 2), end=(30, 40)),
        ),
        (
            {"action": "scroll", "pixels": 300, "coordinate": [10, 20]},
            Scroll(direction="up", amount=3, point=(10, 20)),
        ),
        ({"action": "scroll", "pixels": -40}, Scroll(direction="down", amount=1)),
        ({"action": "scroll", "pixels": -1e9}, Scroll(direction="down", amount=100)),
        ({"action": "wait", "time": 2}, Wait(seconds=2)),
        ({"action": "terminate", "status": "success"}, Finish(status="success")),
        ({"action": "terminate", "status": "failure"}, Finish(status="failure")),
        ({"action": "answer", "text": "42"}, Finish(status="success", answer="42")),
    ],
)
def test_qwen25_computer_use(args, expected):
    assert one("qwen2.5-vl", tool_call("computer_use", **args)) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"action": "click", "coordinate": [100, 200]}, Click(point=(100, 200))),
        (
            {"action": "long_press", "coordinate": [100, 200], "time": 2},
            LongPress(point=(100, 200), duration=2),
        ),
        (
            {"action": "swipe", "coordinate": [500, 900], "coordinate2": [500, 100]},
            Swipe(start=(500, 900), end=(500, 100)),
        ),
        ({"action": "type", "text": "hello"}, Type(text="hello")),
        ({"action": "key", "text": "volume_up"}, Key(keys="volume_up")),
        ({"action": "system_button", "button": "Back"}, Back()),
        ({"action": "system_button", "button": "Home"}, Home()),
        ({"action": "system_button", "button": "Menu"}, Key(keys="menu")),
        ({"action": "system_button", "button": "Enter"}, Key(keys="enter")),
        ({"action": "open", "text": "Settings"}, OpenApp(name="Settings")),
        ({"action": "wait", "time": 1.5}, Wait(seconds=1.5)),
        ({"action": "terminate", "status": "failure"}, Finish(status="failure")),
    ],
)
def test_qwen25_mobile_use(args, expected):
    assert one("qwen2.5-vl", tool_call("mobile_use", **args)) == expected


def test_qwen25_several_tool_calls_thought_and_string_arguments():
    text = (
        "<think>Search first.</think>\n"
        + tool_call("computer_use", action="left_click", coordinate=[10, 20])
        + "\n"
        + tool_call("computer_use", action="type", text="cats")
        + '\n<tool_call>{"name": "computer_use", "arguments": "{\\"action\\": \\"key\\", '
        '\\"keys\\": [\\"enter\\"]}"}</tool_call>'
    )
    parsed = parse("qwen2.5-vl", text, HD)
    assert parsed.thought == "Search first."
    assert parsed.actions == [Click(point=(10, 20)), Type(text="cats"), Key(keys="enter")]
    # no tags at all (a server that strips them) and an unclosed last tag
    bare = json.dumps({"name": "computer_use", "arguments": {"action": "wait"}})
    assert one("qwen2.5-vl", bare) == Wait()
    assert one("qwen2.5-vl", "<tool_call>" + bare) == Wait()


@pytest.mark.parametrize(
    "text",
    [
        tool_call("computer_use", action="left_click_drag", coordinate=[30, 40]),  # no start
        tool_call("computer_use", action="left_click"),  # no coordinate
        tool_call("computer_use", action="left_click", coordinate=[1, 2, 3]),
        tool_call("computer_use", action="left_click", coordinate=[True, 2]),
        tool_call("computer_use", action="left_click", coordinate=[1e6, 2]),
        tool_call("computer_use", action="quadruple_click", coordinate=[1, 2]),
        tool_call("computer_use", action="scroll", pixels=0),
        tool_call("computer_use", action="scroll"),
        tool_call("computer_use", action="wait", time=1000),  # > schema max
        tool_call("computer_use", action="key", keys=[]),
        tool_call("computer_use", action="terminate", status="maybe"),
        tool_call("mobile_use", action="system_button", button="Power"),
        tool_call("mobile_use", action="swipe", coordinate=[1, 2]),
        tool_call("browser_use", action="click", coordinate=[1, 2]),
        "<tool_call>{not json}</tool_call>",
        "<tool_call>[1, 2]</tool_call>",
        '<tool_call>{"name": "computer_use"}</tool_call>',
        '{"bbox_2d": [1, 2, 3]}',
        '{"point_2d": "here"}',
        '{"label": "no coordinates"}',
        "just some words",
    ],
)
def test_qwen25_errors(text):
    error("qwen2.5-vl", text)


def test_internal_validation_error_is_chained():
    err = error("qwen2.5-vl", tool_call("computer_use", action="wait", time=1000))
    assert isinstance(err.__cause__, ValidationError)


# ---- ui-tars / ui-tars-1.5 ---------------------------------------------------------------

ABS = Frame.for_screen(1920, 1080, mode="resize", convention="abs")  # 1932x1092 input


@pytest.mark.parametrize(
    "coords",
    [
        "<|box_start|>(500,500)<|box_end|>",
        "(500,500)",
        "<point>500 500</point>",
        "(450,450,550,550)",
        "<bbox>450 450 550 550</bbox>",
        "[500, 500]",
    ],
)
def test_uitars_coordinate_styles(coords):
    a = one("ui-tars", f"Action: click(start_box='{coords}')")
    assert isinstance(a, Click) and a.point == pytest.approx((966.0, 546.0))


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("click(start_box='(100,200)')", Click(point=(100, 200))),
        ("click(point='<point>100 200</point>')", Click(point=(100, 200))),
        ("left_double(start_box='(100,200)')", DoubleClick(point=(100, 200))),
        ("right_single(start_box='(100,200)')", RightClick(point=(100, 200))),
        ("hover(start_box='(100,200)')", Hover(point=(100, 200))),
        ("long_press(start_box='(100,200)')", LongPress(point=(100, 200))),
        ("drag(start_box='(1,2)', end_box='(30,40)')", Drag(start=(1, 2), end=(30, 40))),
        (
            "drag(start_point='<point>1 2</point>', end_point='<point>30 40</point>')",
            Drag(start=(1, 2), end=(30, 40)),
        ),
        ("hotkey(key='ctrl c')", Key(keys="ctrl+c")),
        ("type(content='hello')", Type(text="hello")),
        ("type(content='hello\\n')", Type(text="hello", enter=True)),
        ("type(content='it\\'s \"q\"\\tx')", Type(text='it\'s "q"\tx')),
        ("type(content='it's')", Type(text="it's")),  # unescaped apostrophe
        ('type(content="a, b")', Type(text="a, b")),
        (
            "scroll(start_box='(100,200)', direction='down')",
            Scroll(direction="down", point=(100, 200)),
        ),
        ("scroll(direction='up')", Scroll(direction="up")),
        ("wait()", Wait(seconds=5)),
        ("finished(content='done: 42')", Finish(status="success", answer="done: 42")),
        ("finished()", Finish(status="success")),
        ("open_app(app_name='Chrome')", OpenApp(name="Chrome")),
        ("press_home()", Home()),
        ("press_back()", Back()),
        ("call_user()", CallUser()),
    ],
)
def test_uitars_15_actions(call, expected):
    frame = Frame.for_screen(1932, 1092, mode="resize", convention="abs")  # identity scale
    assert one("ui-tars-1.5", f"Thought: do it\nAction: {call}", frame) == expected


def test_uitars_thought_reflection_and_multi_action():
    text = (
        "Reflection: the last click missed.\nAction_Summary: click the field then type.\n"
        "Action: click(start_box='(100,100)')\n\ntype(content='abc\\n')\nhotkey(key='ctrl s')"
    )
    parsed = parse("ui-tars", text, HD)
    assert parsed.thought == "click the field then type."
    assert [type(a) for a in parsed.actions] == [Click, Type, Key]
    parsed = parse("ui-tars", "Thought: first\nsecond line\nAction: wait()", HD)
    assert parsed.thought == "first\nsecond line" and parsed.actions == [Wait(seconds=5)]
    # two "Action:" lines: the last holds the actions, as the official parser splits them
    parsed = parse("ui-tars", "Action: press_back()\nAction: press_home()", HD)
    assert parsed.actions == [Home()] and parsed.thought is None
    assert parse("ui-tars", "click(start_box='(1,1)')", HD).thought is None  # bare call


def test_uitars_action_marker_placement():
    text = "Thought: the Action: menu is open\nAction: click(start_box='(100,100)')"
    parsed = parse("ui-tars", text, HD)
    assert parsed.thought == "the Action: menu is open" and len(parsed.actions) == 1
    parsed = parse("ui-tars", "Thought: one line. Action: press_back()", HD)
    assert parsed.thought == "one line." and parsed.actions == [Back()]


def test_uitars_v1_vs_15_conventions():
    v1 = one("ui-tars", "Action: click(start_box='(197,525)')")
    assert v1.point == pytest.approx((197 * 1.932, 525 * 1.092))
    v15 = one("ui-tars-1.5", "Action: click(start_box='(197,525)')", ABS)
    assert v15.point == pytest.approx((197 * 1920 / 1932, 525 * 1080 / 1092))


@pytest.mark.parametrize(
    "text",
    [
        "Thought: nothing to do",
        "Action: ",
        "Action: teleport(start_box='(1,1)')",
        "Action: click()",
        "Action: click(start_box='(1,1)'",
        "Action: click(start_box='(1,1)) extra",
        "Action: click(start_box='(1,1)', start_box='(2,2)')",
        "Action: click('(1,1)')",
        "Action: click(start_box='(a,b)')",
        "Action: click(start_box='(1,2,3)')",
        "Action: click(start_box='(99999,1)')",
        "Action: scroll(direction='sideways')",
        "Action: hotkey(key='')",
        "Action: type()",
        "Action: open_app(app_name='')",
        "Action: drag(start_box='(1,1)')",
        "Action: type(content='unterminated)",
        "Action: long_press(start_box='(1,1)', time='forever')",
        "Action: click(start_box='(1,1)') garbage",
    ],
)
def test_uitars_errors(text):
    error("ui-tars", text)


# ---- json --------------------------------------------------------------------------------


def test_json_shapes():
    click = {"type": "click", "point": [10, 20]}
    key = {"type": "key", "keys": "Control+C"}
    assert one("json", json.dumps(click)) == Click(point=(10, 20))
    parsed = parse("json", json.dumps([click, key]), HD)
    assert parsed.actions == [Click(point=(10, 20)), Key(keys="ctrl+c")]
    parsed = parse("json", json.dumps({"thought": "why", "action": click}), HD)
    assert parsed.thought == "why" and parsed.actions == [Click(point=(10, 20))]
    parsed = parse("json", json.dumps({"thought": "t", "actions": [key, click]}), HD)
    assert len(parsed.actions) == 2
    parsed = parse("json", "I will click.\n```json\n" + json.dumps(click) + "\n```", HD)
    assert parsed.thought == "I will click." and parsed.actions == [Click(point=(10, 20))]
    parsed = parse("json", 'Use [1] or {braces}: {"type": "wait"}', HD)
    assert parsed.actions == [Wait()] and parsed.thought == "Use [1] or {braces}:"
    drag = {"type": "drag", "start": [1, 2], "end": [3, 4]}
    assert one("json", json.dumps(drag)) == Drag(start=(1, 2), end=(3, 4))


@pytest.mark.parametrize(
    "text",
    [
        "click at 10, 20",
        '{"type": "teleport"}',
        '{"type": "click"}',
        '{"type": "click", "point": [10, 20], "extra": 1}',
        '{"type": "click", "point": [5000, 20]}',
        '{"type": "click", "point": [NaN, 20]}',
        '{"type": "drag", "start": [1, 2], "end": [-500, 4]}',
        '{"thought": "t", "action": 5}',
        '{"thought": 5, "action": {"type": "wait"}}',
        '{"action": {"type": "wait"}, "other": 1}',
        "[1, 2, 3]",
        "[]",
        '{"type": "wait", "seconds": 1e999}',
        '[{"type": "wait"}, 5]',  # a broken list is not its first element
        '{"thought": "t", "action": {"type": "wait"}',  # truncated wrapper
        '[{"type": "wait"}, {"type": "click", "point": [1, 2}]',
    ],
)
def test_json_errors(text):
    error("json", text)
