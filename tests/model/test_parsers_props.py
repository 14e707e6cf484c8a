"""Property tests: whatever a model writes, ``parse`` returns on-screen actions or raises one
ParseError — nothing else escapes (no IndexError, ValidationError, RecursionError, ...).

Three generators per format: random text, "token soup" (the format's own syntax pieces in
random order) and mutations of valid outputs. About 10,800 cases in all; ``database=None``
keeps runs from writing a .hypothesis folder. The GUI fine-tunes' dialects get 150 cases of each
kind, seeded by their own renderer's output (tests/model/dialect_samples.py).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.core.actions import action_points
from agent.core.coords import Frame, check_on_screen
from agent.core.errors import ParseError
from model.parsers import FORMATS, Parsed, convention_for, parse
from tests.model.dialect_samples import BASE, syntax_pieces, valid_outputs

# the hand-written dialects; every other one (the GUI fine-tunes') is attacked with samples its
# own renderer writes, at fewer cases each
FMTS = list(BASE)
ZOO = [f for f in FORMATS if f not in BASE]
CASES = {"random": 300, "soup": 700, "mutated": 800, "zoo": 150}

SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}

VALID = {
    "qwen-vl": [
        "Thought.<ref>OK</ref><box>(100,100),(200,200)</box>",
        'type "hi" into <ref>q</ref><box>(10,10),(20,20)</box> then click <ref>go</ref>'
        "<box>(500,500)</box>",
        "drag <ref>a</ref><box>(1,1)</box> to <ref>b</ref><box>(999,999)</box>",
    ],
    "qwen2-vl": [
        "<|object_ref_start|>OK<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>",
        "double click <|box_start|>(500,500)<|box_end|>",
        "scroll down at <|object_ref_start|>x<|object_ref_end|><|box_start|>(0,0),(1000,1000)"
        "<|box_end|>",
    ],
    "qwen2.5-vl": [
        '```json\n[{"bbox_2d": [100, 200, 300, 400], "label": "OK"}]\n```',
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [100, 200]}}\n</tool_call>',
        '<tool_call>{"name": "mobile_use", "arguments": {"action": "swipe", "coordinate": '
        '[10, 20], "coordinate2": [30, 40]}}</tool_call><tool_call>{"name": "mobile_use", '
        '"arguments": {"action": "terminate", "status": "success"}}</tool_call>',
        '<tool_call>{"name": "computer_use", "arguments": {"action": "scroll", "pixels": -300}}'
        "</tool_call>",
    ],
    "qwen3-vl": [
        "<think>\nthe button\n</think>\n\nThought: click OK\nAction: click it\n<tool_call>\n"
        '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, '
        "500]}}\n</tool_call>",
        '[{"bbox_2d": [100, 200, 300, 400], "label": "OK"}]',
        "<tool_call>\n<function=computer_use>\n<parameter=action>\ntriple_click\n</parameter>\n"
        "<parameter=coordinate>\n[10, 20]\n</parameter>\n</function>\n</tool_call>",
        '<tool_call>{"name": "computer_use", "arguments": {"action": "hscroll", "pixels": 200}}'
        "</tool_call>",
    ],
    "qwen3-vl-mobile": [
        '<tool_call>\n{"name": "mobile_use", "arguments": {"action": "click", "coordinate": '
        "[998, 998]}}\n</tool_call>",
        '<tool_call>{"name": "mobile_use", "arguments": {"action": "answer", "text": "42"}}'
        "</tool_call>",
    ],
    "ui-tars": [
        "Thought: go\nAction: click(start_box='<|box_start|>(100,200)<|box_end|>')",
        "Thought: t\nAction: drag(start_box='(1,2,3,4)', end_box='(500,600)')\n\n"
        "type(content='a\\'b\\n')",
        "Reflection: r\nAction_Summary: s\nAction: scroll(start_box='(5,5)', direction='down')",
        "Action: hotkey(key='ctrl c')\nfinished(content='done')",
    ],
    "ui-tars-1.5": [
        "Thought: go\nAction: click(start_box='(197,525)')",
        "Action: click(point='<point>100 200</point>')\nlong_press(start_box='(5,5)')",
        "Action: drag(start_point='<point>1 2</point>', end_point='<point>300 400</point>')",
        "Action: open_app(app_name='Chrome')\npress_home()\npress_back()\nwait()",
    ],
    "json": [
        '{"type": "click", "point": [500, 300]}',
        '{"thought": "t", "actions": [{"type": "drag", "start": [1, 2], "end": [3, 4]}, '
        '{"type": "key", "keys": "ctrl+c"}]}',
        '```json\n{"type": "scroll", "direction": "down", "amount": 3, "point": [10, 10]}\n```',
        '[{"type": "type", "text": "x", "point": [5, 5], "box": [0, 0, 10, 10]}]',
    ],
}

TOKENS = {
    "qwen-vl": ["<ref>", "</ref>", "<box>", "</box>", 'type "a" into', "drag", "to"],
    "qwen2-vl": [
        "<|object_ref_start|>",
        "<|object_ref_end|>",
        "<|box_start|>",
        "<|box_end|>",
        "right click",
        "scroll up",
    ],
    "qwen2.5-vl": [
        "<tool_call>",
        "</tool_call>",
        '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [',
        '{"name": "mobile_use", "arguments": {"action": "',
        '"bbox_2d": [',
        '"point_2d": [',
        '"coordinate2": [',
        "]}}",
        "```json",
        "```",
        "{",
        "}",
        "[",
        "]",
        '"',
        ":",
        "click",
        "swipe",
        "scroll",
        '"pixels":',
    ],
    "ui-tars": [
        "Thought:",
        "Action:",
        "click(",
        "drag(",
        "type(",
        "scroll(",
        "start_box=",
        "end_box=",
        "content=",
        "direction=",
        "'",
        '"',
        "\\",
        "(",
        ")",
        "<|box_start|>",
        "<|box_end|>",
        "<point>",
        "</point>",
        "down",
    ],
    "json": [
        "{",
        "}",
        "[",
        "]",
        '"type":',
        '"click"',
        '"drag"',
        '"point":',
        '"start":',
        '"end":',
        '"box":',
        '"action":',
        '"thought":',
        "```json",
        "```",
        ":",
    ],
}
TOKENS["ui-tars-1.5"] = TOKENS["ui-tars"]
TOKENS["qwen3-vl"] = TOKENS["qwen3-vl-mobile"] = TOKENS["qwen2.5-vl"] + [
    "<think>", "</think>", "<function=computer_use>", "<parameter=action>", "</parameter>",
    "</function>", "<parameter=coordinate>", "triple_click", "hscroll", "answer",
]  # fmt: skip
for _fmt in ZOO:
    VALID[_fmt], TOKENS[_fmt] = valid_outputs(_fmt), syntax_pieces(_fmt)
COMMON = ["(", ")", ",", " ", "\n", "1e999", "NaN", "-5", "0", "500", "999", "1000", "12.5"]
NUMBERS = st.one_of(
    st.integers(-5000, 5000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e999", "-0", "nan", "inf", "9" * 400, "", "1.2.3", "0x10", "+7"]),
)


@st.composite
def frames(draw) -> Frame:
    w = draw(st.integers(60, 4000))
    h = draw(st.integers(60, 4000))
    mode = draw(st.sampled_from(["pad", "resize"]))
    scale = draw(st.sampled_from([1.0, 1.25, 2.0, 3.0]))
    return Frame.for_screen(w, h, mode=mode, scale=scale, max_tokens=4096)


@st.composite
def soup(draw, fmt: str) -> str:
    pieces = st.one_of(st.sampled_from(TOKENS[fmt] + COMMON), NUMBERS, st.text(max_size=4))
    return "".join(draw(st.lists(pieces, max_size=40)))


@st.composite
def mutated(draw, fmt: str) -> str:
    text = draw(st.sampled_from(VALID[fmt]))
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 8)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "number", "duplicate"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS[fmt] + COMMON)) + text[i:]
        elif op == "replace":
            text = text[:i] + draw(st.text(max_size=6)) + text[j:]
        elif op == "number":
            text = text[:i] + draw(NUMBERS) + text[j:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    return text


def check(fmt: str, text: str, frame: Frame) -> None:
    """The property: a Parsed with finite on-screen points, or a ParseError for ``fmt``."""
    try:
        parsed = parse(fmt, text, frame)
    except ParseError as err:
        assert err.format == fmt
        assert "\n" not in str(err)
        event("ParseError")
        return
    event("parsed")
    assert isinstance(parsed, Parsed) and parsed.actions
    screen = frame.with_convention(convention_for(fmt))
    for action in parsed.actions:
        for x, y in action_points(action):
            check_on_screen(screen, x, y)  # raises if off screen or not finite
        box = getattr(action, "box", None)
        if box is not None:
            assert all(math.isfinite(v) for v in box)


@pytest.mark.parametrize("fmt", FMTS)
@settings(max_examples=CASES["random"], **SETTINGS)
@given(text=st.text(max_size=300), frame=frames())
def test_random_text(fmt, text, frame):
    check(fmt, text, frame)


@pytest.mark.parametrize("fmt", FMTS)
@settings(max_examples=CASES["soup"], **SETTINGS)
@given(data=st.data(), frame=frames())
def test_token_soup(fmt, data, frame):
    check(fmt, data.draw(soup(fmt)), frame)


@pytest.mark.parametrize("fmt", FMTS)
@settings(max_examples=CASES["mutated"], **SETTINGS)
@given(data=st.data(), frame=frames())
def test_mutated_valid_outputs(fmt, data, frame):
    check(fmt, data.draw(mutated(fmt)), frame)


@pytest.mark.parametrize("fmt", FMTS)
def test_valid_templates_parse(fmt):
    """The seeds of the mutations are valid, so mutations start from real outputs."""
    frame = Frame.for_screen(1920, 1080, mode=FORMATS[fmt].mode, factor=FORMATS[fmt].factor)
    for text in VALID[fmt]:
        assert parse(fmt, text, frame).actions


@pytest.mark.parametrize("fmt", ZOO)
@settings(max_examples=CASES["zoo"], **SETTINGS)
@given(data=st.data(), frame=frames())
def test_fine_tune_dialects_hold_on_every_kind(fmt, data, frame):
    kind = data.draw(st.sampled_from(["random", "soup", "mutated"]))
    if kind == "random":
        text = data.draw(st.text(max_size=300))
    else:
        text = data.draw(soup(fmt) if kind == "soup" else mutated(fmt))
    check(fmt, text, frame)


@pytest.mark.parametrize("fmt", ZOO)
def test_fine_tune_samples_parse(fmt):
    assert VALID[fmt] and TOKENS[fmt]
    test_valid_templates_parse(fmt)
