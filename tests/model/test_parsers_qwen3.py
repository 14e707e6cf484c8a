"""The qwen3-vl formats: every official computer_use / mobile_use action, 0–1000 (mobile
0–999), grounding JSON, Thought/Action prefixes, <think> blocks and Qwen3.5's XML calls."""

from __future__ import annotations

import json

import pytest

from agent.core.actions import DoubleClick, Drag, Finish, Hover, Key, Scroll, Swipe, Type
from agent.core.coords import Frame
from agent.core.errors import ParseError
from model.parsers import parse

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
