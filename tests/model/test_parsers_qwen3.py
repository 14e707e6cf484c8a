"""The qwen3-vl formats: every official computer_use / mobile_use action, 0–1000 (mobile
0–999), grounding JSON, Thought/Action prefixes, <think> blocks and Qwen3.5's XML calls."""

from __future__ import annotations

import json

import pytest

from agent.core.actions import (
    Back,
    Click,
    DoubleClick,
    Drag,
    Finish,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
)
from agent.core.coords import Frame
from agent.core.errors import ParseError
from model.parsers import parse
from model.parsers.common import find_json, one_line, tagged

F = Frame.for_screen(1920, 1080, factor=32)  # pad: 1920x1088
MOBILE = Frame.for_screen(1080, 2400, factor=32, mode="resize")


def call(tool: str = "computer_use", **arguments: object) -> str:
    return f"<tool_call>\n{json.dumps({'name': tool, 'arguments': arguments})}\n</tool_call>"


def one(text: str, frame: Frame = F, fmt: str = "qwen3-vl"):
    (action,) = parse(fmt, text, frame).actions
    return action


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"action": "mouse_move", "coordinate": [500, 250]}, Hover(point=(960, 272))),
        ({"action": "triple_click", "coordinate": [0, 0]}, DoubleClick(point=(0, 0))),
        ({"action": "key", "keys": ["ctrl", "a"]}, Key(keys="ctrl+a")),
        ({"action": "type", "text": "héllo"}, Type(text="héllo")),
        ({"action": "scroll", "pixels": -300}, Scroll(direction="down", amount=3)),
        ({"action": "hscroll", "pixels": 200}, Scroll(direction="right", amount=2)),
        ({"action": "hscroll", "pixels": -100}, Scroll(direction="left", amount=1)),
        ({"action": "answer", "text": "42"}, Finish(answer="42")),
        ({"action": "terminate", "status": "failure"}, Finish(status="failure")),
    ],
)
def test_computer_use_actions(args: dict, expected) -> None:
    assert one(call(**args)) == expected


def test_drag_from_the_pointer_and_mobile_0_999() -> None:
    at = F.model_copy(update={"pointer": (10.0, 20.0)})
    assert one(call(action="left_click_drag", coordinate=[1000, 1000]), at) == Drag(
        start=(10, 20), end=(1920, 1088)
    )
    swipe = one(
        call("mobile_use", action="swipe", coordinate=[0, 999], coordinate2=[999, 0]),
        MOBILE,
        "qwen3-vl-mobile",
    )
    assert swipe == Swipe(start=(0, 2400), end=(1080, 0))  # 999 is the far edge


def test_thinking_and_prefixes_become_the_thought() -> None:
    text = (
        "<think>\nThe search box is at the top.\n</think>\n\nThought: click search\n"
        "Action: click the search box\n" + call(action="left_click", coordinate=[500, 500])
    )
    parsed = parse("qwen3-vl", text, F)
    assert parsed.actions[0].point == (960, 544)
    assert "search box is at the top" in parsed.thought and "Action: click" in parsed.thought


def test_a_tool_call_inside_the_thought_is_not_the_action() -> None:
    text = (
        "<think>maybe "
        + call(action="left_click", coordinate=[1, 1])
        + "</think>\n"
        + call(action="left_click", coordinate=[500, 500])
    )
    (action,) = parse("qwen3-vl", text, F).actions
    assert action.point == (960, 544)


def test_qwen35_xml_calls() -> None:
    xml = (
        "<tool_call>\n<function=computer_use>\n<parameter=action>\nleft_click\n</parameter>\n"
        "<parameter=coordinate>\n[250, 750]\n</parameter>\n</function>\n</tool_call>"
    )
    assert one(xml).point == (480, 816)
    typed = xml.replace("left_click", "type").replace("[250, 750]", "it's [not] json")
    typed = typed.replace("<parameter=coordinate>", "<parameter=text>")
    assert one(typed) == Type(text="it's [not] json")
    with pytest.raises(ParseError, match="twice"):
        parse(
            "qwen3-vl",
            xml.replace("</function>", "<parameter=action>\nx\n</parameter>\n</function>"),
            F,
        )
    with pytest.raises(ParseError, match="malformed"):
        parse(
            "qwen3-vl",
            "<tool_call><function=computer_use><parameter=>1</parameter></function></tool_call>",
            F,
        )


def test_grounding_json_is_0_1000() -> None:
    (click,) = parse("qwen3-vl", '[{"bbox_2d": [100, 200, 300, 400], "label": "OK"}]', F).actions
    assert click.point == pytest.approx((384, 326.4)) and click.target == "OK"
    assert one('{"point_2d": [500, 500]}').point == (960, 544)


# ---- every computer_use / mobile_use branch and error, exactly ----------------------------
# Each case pins what the parser returns: the actions (points in screenshot px) and thought,
# or the error's fragment (BODY: the whole tool-call body) and reason (a reason ending in "…"
# is a prefix: the rest names screen sizes). Reasons must keep naming the fix.

AT = F.model_copy(update={"pointer": (10.0, 20.0)})  # the env knows where the cursor is
BODY = object()
X = "<tool_call><function=computer_use>"
END = "</function></tool_call>"


def p(key: str, value: object) -> str:
    return f"<parameter={key}>{value}</parameter>"


def m(**arguments: object) -> str:
    return call("mobile_use", **arguments)


def outcome(fmt: str, text: str, frame: Frame) -> tuple[object, object]:
    """(thought, actions), or (fragment, reason) of the ParseError."""
    try:
        parsed = parse(fmt, text, frame)
    except ParseError as err:
        assert err.format == fmt and err.code == "parse"
        body = text.removeprefix("<tool_call>").removesuffix("</tool_call>")
        return (BODY if err.text == body else err.text), err.reason
    return parsed.thought, parsed.actions


def check(fmt: str, frame: Frame, text: str, expected: tuple[object, object]) -> None:
    got = outcome(fmt, text, frame)
    want = expected[1]
    if isinstance(want, str) and want.endswith("…") and isinstance(got[1], str):
        assert (got[0], got[1][: len(want) - 1]) == (expected[0], want[:-1]), got
    else:
        assert got == expected, got


# fmt: off
MOBILE_CASES = [
    (MOBILE, m(action="click"), (BODY, "missing 'coordinate'")),
    (MOBILE, m(action="click", coordinate=[1, 2, 3, 4]), (BODY, "'coordinate' must be [x, y]")),
    (MOBILE, m(action="click", coordinate=[1, 2, 3]),
     ('[1, 2, 3]', 'coordinate must be [x, y] or [x1, y1, x2, y2]')),
    (MOBILE, m(action="click", coordinate="(1, 2, 3)"), (BODY, "'coordinate' must be [x, y]")),
    (MOBILE, m(action="click", coordinate=["a", 1]), ("'a'", 'coordinate must be a number')),
    (MOBILE, m(action="click", coordinate=[5000, 5]),
     (BODY, 'bad coordinates: point (5405.4, 12.0) is outside the 1080x2400 screenshot by…')),
    (MOBILE, m(action="click", coordinate="(10, 20)"),
     (None, [Click(point=(10.81081081081081, 48.048048048048045))])),
    (MOBILE, m(action="long_press", coordinate=[500, 500]),
     (None, [LongPress(point=(540.5405405405406, 1201.2012012012012), duration=1.0)])),
    (MOBILE, m(action="long_press", coordinate=[500, 500], time=3),
     (None, [LongPress(point=(540.5405405405406, 1201.2012012012012), duration=3.0)])),
    (MOBILE, m(action="long_press", coordinate=[500, 500], time="x"),
     ("'x'", 'time must be a number')),
    (MOBILE, m(action="swipe", coordinate=[0, 0]), (BODY, "missing 'coordinate2'")),
    (MOBILE, m(action="swipe", coordinate=[0, 0], coordinate2=[0, 5000]),
     (BODY, 'bad coordinates: point (0.0, 12012.0) is outside the 1080x2400 screenshot by…')),
    (MOBILE, m(action="type", text="hi"), (None, [Type(text='hi')])),
    (MOBILE, m(action="type"), (BODY, "missing text argument 'text'")),
    (MOBILE, m(action="key", text="volume_up"), (None, [Key(keys='volume_up')])),
    (MOBILE, m(action="key"), (BODY, "missing text argument 'text'")),
    (MOBILE, m(action="system_button", button=" Back "), (None, [Back(type='back')])),
    (MOBILE, m(action="system_button", button="HOME"), (None, [Home(type='home')])),
    (MOBILE, m(action="system_button", button="Enter"), (None, [Key(keys='enter')])),
    (MOBILE, m(action="system_button", button="power"), (BODY, "unknown system_button 'power'")),
    (MOBILE, m(action="system_button"), (BODY, "missing text argument 'button'")),
    (MOBILE, m(action="open", text="Maps"), (None, [OpenApp(name='Maps')])),
    (MOBILE, m(action="open"), (BODY, "missing text argument 'text'")),
    (MOBILE, m(action="wait", time=1), (None, [Wait(seconds=1.0)])),
    (MOBILE, m(action="wait", time=None), ('None', 'time must be a number')),
    (MOBILE, m(action="terminate", status="failure"), (None, [Finish(status='failure')])),
    (MOBILE, m(action="terminate", status="done"),
     (BODY, "terminate status must be success or failure, got 'done'")),
    (MOBILE, m(action="answer", text="7"), (None, [Finish(status='success', answer='7')])),
    (MOBILE, m(action="answer"), (BODY, "missing text argument 'text'")),
    (MOBILE, m(action="fly"), (BODY, "unsupported mobile_use action 'fly'")),
]
COMPUTER_CASES = [
    (F, call(action="left_click"),
     (BODY, "left_click without 'coordinate' acts at the pointer, whose position is unknown "
            "(no earlier mouse_move or click in this env)")),
    (AT, call(action="left_click"), (None, [Click(point=(10.0, 20.0))])),
    (AT, call(action="right_click"), (None, [RightClick(point=(10.0, 20.0))])),
    (AT, call(action="mouse_move"), (BODY, "missing 'coordinate'")),
    (F, call(action="middle_click", coordinate=[9000, 0]),
     (BODY, 'bad coordinates: point (17280.0, 0.0) is outside the 1920x1080 screenshot by…')),
    (F, call(action="left_click_drag", start_coordinate=[0, 0], coordinate=[500, 500]),
     (None, [Drag(start=(0.0, 0.0), end=(960.0, 544.0))])),
    (F, call(action="left_click_drag", startCoordinate=[100, 0], coordinate=[500, 500]),
     (None, [Drag(start=(192.0, 0.0), end=(960.0, 544.0))])),
    (F, call(action="left_click_drag", start_coordinate=[-900, 0], coordinate=[500, 500]),
     (BODY, 'bad coordinates: point (-1728.0, 0.0) is outside the 1920x1080 screenshot by…')),
    (F, call(action="left_click_drag", coordinate=[500, 500]),
     (BODY, "left_click_drag without 'coordinate' acts at the pointer, whose position is unkn…")),
    (F, call(action="left_click_drag", coordinate=[500, 9000]),
     (BODY, 'bad coordinates: point (960.0, 9792.0) is outside the 1920x1080 screenshot by…')),
    (F, call(action="key", text="enter"), (None, [Key(keys='enter')])),
    (F, call(action="key", keys="ctrl"), (None, [Key(keys='ctrl')])),
    (F, call(action="key", keys=[" ctrl ", "c "]), (None, [Key(keys='ctrl+c')])),
    (F, call(action="key", keys=[]), (BODY, "key needs 'keys': a list of key names")),
    (F, call(action="key", keys=["a", 1]), (BODY, "key needs 'keys': a list of key names")),
    (F, call(action="key"), (BODY, "key needs 'keys': a list of key names")),
    (F, call(action="type"), (BODY, "missing text argument 'text'")),
    (F, call(action="type", text=5), (BODY, "missing text argument 'text'")),
    (F, call(action="scroll"), ('None', 'pixels must be a number')),
    (F, call(action="scroll", pixels="lots"), ("'lots'", 'pixels must be a number')),
    (F, call(action="scroll", pixels=0), (BODY, 'scroll of 0 pixels')),
    (F, call(action="scroll", pixels=1), (None, [Scroll(direction='up', amount=1)])),
    (F, call(action="scroll", pixels=0.5), (None, [Scroll(direction='up', amount=1)])),
    (F, call(action="scroll", pixels=-1, coordinate=[500, 500]),
     (None, [Scroll(direction='down', amount=1, point=(960.0, 544.0))])),
    (AT, call(action="hscroll", pixels=99999),
     (None, [Scroll(direction='right', amount=100, point=(10.0, 20.0))])),
    (F, call(action="scroll", pixels=100, coordinate=[500, 1e9]),
     (BODY, 'bad coordinates: point (960.0, 1088000000.0) is outside the 1920x1080 screenshot…')),
    (F, call(action="wait"), (None, [Wait(seconds=1.0)])),
    (F, call(action="wait", time=2.5), (None, [Wait(seconds=2.5)])),
    (F, call(action="wait", time="soon"), ("'soon'", 'time must be a number')),
    (F, call(action="terminate"), (None, [Finish(status='success')])),
    (F, call(action="terminate", status="maybe"),
     (BODY, "terminate status must be success or failure, got 'maybe'")),
    (F, call(action="answer"), (BODY, "missing text argument 'text'")),
    (F, call(action="answer", text="42"), (None, [Finish(status='success', answer='42')])),
    (F, call(action="fly"), (BODY, "unsupported computer_use action 'fly'")),
    (F, "<tool_call>[1, 2]</tool_call>", (BODY, 'a tool call must be a JSON object')),
    (F, "<tool_call>{not json}</tool_call>",
     (BODY, 'invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 …')),
    (F, '<tool_call>{"name": "computer_use", "arguments": "{\\"action\\": \\"wait\\"}"}'
        '</tool_call>',
     (None, [Wait(seconds=1.0)])),
    (F, '<tool_call>{"name": "computer_use", "arguments": "{oops"}</tool_call>',
     ('{oops', 'invalid JSON: Expecting property name enclosed in double quotes: line 1…')),
    (F, '<tool_call>{"name": "computer_use", "arguments": 5}</tool_call>',
     (BODY, "tool call 'arguments' must be an object")),
    (F, '<tool_call>{"name": "computer_use", "arguments": {"action": 3}}</tool_call>',
     (BODY, "tool call has no 'action' name")),
    (F, '<tool_call>{"name": "browser", "arguments": {"action": "wait"}}</tool_call>',
     (BODY, "unknown tool 'browser'; expected computer_use or mobile_use")),
    (F, 'I will wait. {"name": "computer_use", "arguments": {"action": "wait"}}',
     ('I will wait.', [Wait(seconds=1.0)])),
    (F, 'Bad: {"name": "computer_use", "arguments": {"action": "jump"}}',
     ('{"name": "computer_use", "arguments": {"action": "jump"}}', 'unsupported computer_u…')),
    (F, "nothing to do here", (BODY, 'no <tool_call> and no bbox_2d/point_2d JSON found')),
    (F, '{"bbox_2d": [1, 2]}', ("{'bbox_2d': [1, 2]}", 'bbox_2d needs 4 numbers')),
    (F, '{"point_2d": [1, 2, 3, 4]}', ("{'point_2d': [1, 2, 3, 4]}", 'point_2d needs 2 numbers')),
    (F, '{"point_2d": "here"}', ('here', "'here' is not a number")),
    (F, '{"bbox_2d": [1, "x", 3, 4]}', ("'x'", 'bbox_2d must be a number')),
    (F, '{"point_2d": [1, "y"]}', ("'y'", 'point_2d must be a number')),
    (F, '{"label": "OK"}', ("{'label': 'OK'}", 'object has neither bbox_2d nor point_2d')),
    (F, '{"bbox_2d": [0, 0, 2000, 10]}',
     ("{'bbox_2d': [0, 0, 2000, 10]}", 'bad box: point (3840.0, 10.9) is outside the 1920x10…')),
    (F, '{"point_2d": [3000, 10]}',
     ("{'point_2d': [3000, 10]}", 'bad coordinates: point (5760.0, 10.9) is outside the 1920x10…')),
    (F, 'Type "hello" into ```json\n{"bbox_2d": [100, 100, 200, 200], "label": "Name"}\n```',
     ('Type "hello" into', [Type(text='hello', point=(288.0, 163.20000000000002),
                                 box=(192.0, 108.80000000000001, 384.0, 217.60000000000002))])),
    (F, "Type '' into {\"point_2d\": [100, 100]}",
     ("Type '' into", [Type(text='', point=(192.0, 108.80000000000001))])),
    (F, 'Scroll down at {"point_2d": [500, 500]}',
     ('Scroll down at', [Scroll(direction='down', amount=5, point=(960.0, 544.0))])),
    (F, 'Drag {"point_2d": [500, 500]}',
     ("{'point_2d': [500, 500]}", 'a drag needs a tool call with both ends')),
    (F, 'Right-click [{"point_2d": [10, 10], "label": " File "}, '
        '{"point_2d": [20, 20], "label": "  "}]',
     ('Right-click', [RightClick(point=(19.2, 10.88), target='File'),
                      RightClick(point=(38.4, 21.76))])),
    (F, '[{"point_2d": [10, 10]}, {"bbox_2d": [1, 2]}]',
     ("{'bbox_2d': [1, 2]}", 'bbox_2d needs 4 numbers')),
    (F, "<think>a</think>X" + call(action="wait"), ('a X', [Wait(seconds=1.0)])),
    (F, "<think>a</think>one</think>two" + call(action="wait"), ('a one two', [Wait(seconds=1.0)])),
    (F, "<think>plan</think>then {\"point_2d\": [500, 500]}",
     ('plan then', [Click(point=(960.0, 544.0))])),
    (F, "</think>" + call(action="wait"), (None, [Wait(seconds=1.0)])),
    (F, "<tool_call><function=\n</tool_call>", (BODY, 'malformed <function=…> call')),
    (F, X + p("action", "wait") + "</function><function=t>" + p("action", "terminate") + END,
     (None, [Wait(seconds=1.0)])),
    (F, X + p("action", "type") + "<parameter=text>ab", (None, [Type(text='ab')])),
    (F, X + p("action", "type") + p("text", "a>b") + END, (None, [Type(text='a>b')])),
    (F, X + p("action", "type") + p("text", "\n  spaced  \n") + END,
     (None, [Type(text='  spaced  ')])),
    (F, X + p("act\nion", "wait") + END,
     ('<parameter=act\nion>wait</parameter>', 'malformed <parameter=…>')),
    (F, X + p("action", "wait") + p("k" * 100, 1) + END, (None, [Wait(seconds=1.0)])),
    (F, X + p("action", "wait") + p("k" * 101, 1) + END,
     ("<parameter=" + "k" * 69, 'malformed <parameter=…>')),
    (F, X + p("action", "wait") + p("action", "w" * 120) + END,
     ("<parameter=action>" + "w" * 62, "parameter 'action' given twice")),
    (F, X + "<parameter=" + "z" * 120 + "</parameter>" + END,
     ("<parameter=" + "z" * 69, 'malformed <parameter=…>')),
]
QWEN25_CASES = [
    (F, '{"point_2d": [100, 200], "label": 5}', (None, [Click(point=(100.0, 200.0))])),
]
# fmt: on


@pytest.mark.parametrize(("frame", "text", "expected"), MOBILE_CASES)
def test_mobile_use_exactly(frame: Frame, text: str, expected: tuple[object, object]) -> None:
    check("qwen3-vl-mobile", frame, text, expected)


@pytest.mark.parametrize(("frame", "text", "expected"), COMPUTER_CASES)
def test_computer_use_exactly(frame: Frame, text: str, expected: tuple[object, object]) -> None:
    check("qwen3-vl", frame, text, expected)


@pytest.mark.parametrize(("frame", "text", "expected"), QWEN25_CASES)
def test_qwen25_exactly(frame: Frame, text: str, expected: tuple[object, object]) -> None:
    check("qwen2.5-vl", frame, text, expected)


def test_json_search_prefers_the_fence_and_is_bounded() -> None:
    """find_json: a fenced object wins over earlier prose JSON, only the first fence counts,
    its language line is skipped, spans are offsets into the whole text, a broken fence falls
    back to the text, and at most MAX_JSON_TRIES starts are tried."""
    x = '{"x": 0} '
    assert find_json(x + '```json\n{"a": 1}\n```') == ({"a": 1}, 17, 25)
    assert find_json(x + '```{"a": 1}\n{"b": 2}\n```')[0] == {"a": 1}  # line 1 is no tag
    assert find_json(x + '```{"a": 1}```')[0] == {"a": 1}
    assert find_json(x + '```json\n{"a": 1}```')[0] == {"a": 1}
    assert find_json(x + '```\n{"a": 1}\n``` ```\n{"b": 2}\n```')[0] == {"a": 1}
    assert find_json(x + '```\n{bad}\n``` {"b": 2} ```')[0] == {"x": 0}
    assert find_json(x + '```\n{"a": 1}')[0] == {"a": 1}  # unclosed fence: to the end
    assert find_json('```\nno json\n``` {"a": 1}') == ({"a": 1}, 16, 24)
    assert find_json('{{"a": 1}') == ({"a": 1}, 1, 9)  # resumes right after a bad start
    assert find_json("{ " * 24 + '{"a": 1}') == ({"a": 1}, 48, 56)
    assert find_json("{ " * 25 + '{"a": 1}') is None  # the 26th start is not tried
    assert tagged("</t>a<t>1</t>b<t>2", "<t>", "</t>") == [("1", 5, 13), ("2", 14, 18)]
    assert one_line(" a \n\t b ") == "a b"
    assert one_line("x" * 300) == "x" * 300
    assert one_line("x" * 301) == "x" * 297 + "..."


def test_numbers_in_calls_exactly() -> None:
    cases: list[tuple[dict[str, object], tuple[object, object]]] = [
        ({"action": "wait", "time": "2"}, (None, [Wait(seconds=2.0)])),
        ({"action": "wait", "time": " 2 "}, (None, [Wait(seconds=2.0)])),
        ({"action": "wait", "time": [1]}, ("[1]", "time must be a number")),
        ({"action": "wait", "time": "x" * 300}, ("'" + "x" * 199, "time must be a number")),
        ({"action": "wait", "time": True}, ("True", "time must be a number")),
        (
            {"action": "left_click", "coordinate": {"x": 1, "y": 2}},
            ("{'x': 1, 'y': 2}", "coordinate must be [x, y] or [x1, y1, x2, y2]"),
        ),
        (
            {"action": "left_click", "coordinate": [1] * 100},
            (repr([1] * 100)[:200], "coordinate must be [x, y] or [x1, y1, x2, y2]"),
        ),
        (
            {"action": "left_click", "coordinate": "(" + "a" * 50 + ",1)"},
            ("(" + "a" * 50 + ",1)", repr("a" * 40) + " is not a number"),
        ),
    ]
    for args, expected in cases:
        check("qwen3-vl", F, call(**args), expected)
