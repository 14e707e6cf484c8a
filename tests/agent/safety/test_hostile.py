"""Hostile model output, property-based: whatever a model writes and whatever a page shows,
nothing escapes the parsers but ParseError, nothing escapes the gate at all, and no NaN,
infinite or off-screen point ever reaches an env.

* every parser → the gate, on random text, token soup and mutations of valid outputs;
* the gate alone, on arbitrary actions, target texts, URLs, apps, policies and confirmers;
* the real Loop driven by a scripted model whose outputs hypothesis writes, on a tiny env
  that asserts every point it receives is finite and on its screen.

Counts (``CASES``): 8×450 + 4500 + 8×480 for the hand-written dialects, and 120 (parser then
gate) and 60 (the loop) for each GUI fine-tune's dialect, whose valid samples and edge templates
are its own renderer's output; ``database=None`` writes no .hypothesis folder.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.core.actions import (
    ACTION_TYPES,
    TERMINAL_TYPES,
    Action,
    action_points,
    parse_action,
)
from agent.core.coords import Frame, check_on_screen
from agent.core.env import Env
from agent.core.errors import ParseError
from agent.core.observation import Observation
from agent.episode.loop import Loop, LoopConfig
from agent.episode.recording import EpisodeWriter
from agent.safety.gate import PolicyGate
from agent.safety.policy import Policy, Rule
from agent.safety.targets import Target, TargetReader
from model.parsers import FORMATS, convention_for, frame_options, mode_for, parse
from model.scripted import ScriptedModel
from tests.model.dialect_samples import BASE, edge_template, valid_outputs

# the hand-written dialects, and the GUI fine-tunes' (samples rendered by the dialect itself)
FMTS = list(BASE)
ZOO = [f for f in FORMATS if f not in BASE]
CASES = {"parse_gate": 450, "gate": 4500, "loop": 480, "zoo": 120, "zoo_loop": 60}
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}

VALID = {
    "qwen-vl": [
        "<ref>OK</ref><box>(100,100),(200,200)</box>",
        'type "hi" into <ref>q</ref><box>(10,10),(20,20)</box>',
    ],
    "qwen2-vl": [
        "<|object_ref_start|>OK<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>",
        "double click <|box_start|>(500,500)<|box_end|>",
    ],
    "qwen2.5-vl": [
        '[{"bbox_2d": [100, 200, 300, 400], "label": "Pay now"}]',
        '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [100, 200]}}</tool_call>',
    ],
    "ui-tars": [
        "Thought: go\nAction: click(start_box='<|box_start|>(100,200)<|box_end|>')",
        "Action: drag(start_box='(1,2,3,4)', end_box='(500,600)')",
    ],
    "ui-tars-1.5": [
        "Action: click(start_box='(197,525)')",
        "Action: type(content='a')\nhotkey(key='enter')",
    ],
    "qwen3-vl": [
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [500, 500]}}\n</tool_call>',
        '<think>look</think><tool_call>{"name": "computer_use", "arguments": '
        '{"action": "left_click_drag", "start_coordinate": [1, 2], "coordinate": [900, 900]}}'
        "</tool_call>",
        '[{"bbox_2d": [100, 200, 300, 400], "label": "Pay now"}]',
    ],
    "qwen3-vl-mobile": [
        '<tool_call>{"name": "mobile_use", "arguments": {"action": "click", '
        '"coordinate": [500, 500]}}</tool_call>',
        '<tool_call>{"name": "mobile_use", "arguments": {"action": "swipe", '
        '"coordinate": [10, 10], "coordinate2": [998, 998]}}</tool_call>',
    ],
    "json": [
        '{"type": "click", "point": [50, 30]}',
        '{"actions": [{"type": "drag", "start": [1, 2], "end": [3, 4]}, '
        '{"type": "type", "text": "{{secret:pw}}", "enter": true}]}',
    ],
}
# The formats' own syntax, split on spaces (plus a few pieces that contain spaces).
_SYNTAX = (
    "( ) , [ ] { } \" ' : <ref> </ref> <box> </box> <|box_start|> <|box_end|> "
    "<|object_ref_start|> <|object_ref_end|> <tool_call> </tool_call> Action: Thought: "
    'click( drag( type( start_box= end_box= content= "type": "click" "point": "bbox_2d": '
    '"coordinate": <point> </point> 1e999 NaN -Infinity inf -5 0 999 1000 12.5 1e308 -0'
)
PIECES = [*_SYNTAX.split(), "\n", " ", "9" * 60, "\u0000", "\ud7ff", "Pay now"]
NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e999", "nan", "-inf", "9" * 400, "", "0x1f", "+7", "1_000"]),
)


# Templates whose numbers are drawn near the screen's edges (and the clamp tolerance).
EDGE = {
    "json": [
        '{{"type": "click", "point": [{x}, {y}]}}',
        '{{"type": "drag", "start": [{x}, {y}], "end": [{x2}, {y2}]}}',
        '{{"type": "type", "text": "{{{{secret:pw}}}}", "point": [{x}, {y}], "enter": true}}',
        '{{"type": "scroll", "direction": "down", "point": [{x}, {y}]}}',
    ],
    "qwen3-vl": [
        '<tool_call>{{"name": "computer_use", "arguments": {{"action": "left_click", '
        '"coordinate": [{x}, {y}]}}}}</tool_call>',
        '[{{"bbox_2d": [{x}, {y}, {x2}, {y2}], "label": "a"}}]',
    ],
    "qwen3-vl-mobile": [
        '<tool_call>{{"name": "mobile_use", "arguments": {{"action": "click", '
        '"coordinate": [{x}, {y}]}}}}</tool_call>',
    ],
    "qwen2.5-vl": [
        '<tool_call>{{"name": "computer_use", "arguments": {{"action": "left_click", '
        '"coordinate": [{x}, {y}]}}}}</tool_call>',
        '[{{"bbox_2d": [{x}, {y}, {x2}, {y2}], "label": "a"}}]',
    ],
    "ui-tars-1.5": [
        "Action: click(start_box='({x},{y})')",
        "Action: drag(start_box='({x},{y})', end_box='({x2},{y2})')",
    ],
    "qwen-vl": ["<ref>a</ref><box>({x},{y}),({x2},{y2})</box>"],
    "qwen2-vl": [
        "<|box_start|>({x},{y}),({x2},{y2})<|box_end|>",
        "double click <|box_start|>({x},{y})<|box_end|>",
    ],
    "ui-tars": [
        "Action: click(start_box='({x},{y})')",
        "Action: drag(start_box='({x},{y},{x2},{y2})', end_box='({x2},{y2})')",
    ],
}


def _edges(fmt: str, frame: Frame, horizontal: bool) -> list[float]:
    """Numbers in the format's frame that land just inside / on / just past the screen edge
    and the clamp tolerance."""
    screen = frame.screen_w if horizontal else frame.screen_h
    size = frame.input_w if horizontal else frame.input_h
    t = frame.tolerance
    px = [
        0,
        0.4,
        screen / 2,
        screen - 1,
        screen - 0.5,
        screen,
        screen - 1 + t,
        screen - 0.5 + t,
        screen + t,
        screen + t + 1,
        -t,
        -t - 0.5,
        -t - 1,
        1e6,
    ]
    if convention_for(fmt) == "norm1000":
        return [round(v * 1000 / size, 3) for v in px] + [0, 999, 1000, 1001]
    if convention_for(fmt) == "norm999":
        return [round(v * 999 / size, 3) for v in px] + [0, 998, 999, 1000]
    return px


@st.composite
def outputs(draw: Any, fmt: str, frame: Frame | None = None) -> str:
    kinds = ["random", "soup", "mutated"] + (["edge", "edge", "edge"] if frame else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "random":
        return draw(st.text(max_size=200))
    if kind == "soup":
        piece = st.one_of(st.sampled_from(PIECES), NUMBERS, st.text(max_size=3))
        return "".join(draw(st.lists(piece, max_size=30)))
    if kind == "edge":
        assert frame is not None
        xs, ys = _edges(fmt, frame, True), _edges(fmt, frame, False)
        num = lambda vals: draw(st.sampled_from(vals) | st.floats(-50, 1100))  # noqa: E731
        return draw(st.sampled_from(EDGE[fmt])).format(x=num(xs), y=num(ys), x2=num(xs), y2=num(ys))
    text = draw(st.sampled_from(VALID[fmt]))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 6)))
        op = draw(st.sampled_from(["delete", "insert", "number", "duplicate"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(PIECES)) + text[i:]
        elif op == "number":
            text = text[:i] + draw(NUMBERS) + text[j:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    return text


def _policy_pool(n: int = 60, seed: int = 7) -> list[Policy]:
    """Odd policies built once (a strategy per example would cost more than the checks)."""
    rng = random.Random(seed)
    words = [
        "pay",
        "pay now",
        "delete",
        "ok",
        "a b",
        "*",
        "(",
        "é",
        "\u0000",
        "re",
        "[x]",
        "Pay",
        "now now",
        "ä ö",
        "\n",
        "‮rtl",
    ]
    urls = ["127.0.0.1", "*://*/x*", "[", "a:99999", "", "*", "http://[::1", "é.com", "h:-1"]

    def some(pool: list[str], k: int) -> tuple[str, ...]:
        return tuple(rng.choice(pool) for _ in range(rng.randint(0, k)))

    out = [Policy(), Policy(rules=())]
    for i in range(n):
        rules = tuple(
            Rule(
                rng.choice(["allow", "confirm", "deny"]),
                name=f"r{i}.{j}",
                actions=tuple(rng.sample(ACTION_TYPES, rng.randint(0, 3))),
                target=some(words, 3),
                url=some(urls, 2),
                app=some(["", "x", "Settings", "é"], 2),
            )
            for j in range(rng.randint(0, 3))
        )
        out.append(
            Policy(
                name=rng.choice(["", "p", "é", "x" * 50]),
                rules=rules + Policy().rules,
                default=rng.choice(["allow", "confirm", "deny"]),
                allow_urls=some(urls, 2),
                deny_urls=some(urls, 2),
                allow_apps=some(["", "x", "Settings", "é"], 2),
                non_interactive=rng.choice(["allow", "deny"]),
            )
        )
    return out


POLICIES = _policy_pool()


def policies() -> st.SearchStrategy[Policy]:
    return st.sampled_from(POLICIES)


class FixedReader(TargetReader):
    """Hands the gate a hostile target (text, link) instead of reading a real page."""

    def __init__(self, text: str, href: str | None) -> None:
        super().__init__()
        self.text, self.href = text, href

    def read(self, action: Action, env: Env, obs: Observation) -> Target | None:
        return Target(self.text, "hypothesis", href=self.href)


def _confirm(kind: str) -> Any:
    if kind == "raises":

        def boom(req: Any) -> bool:
            raise RuntimeError("confirm callback crashed")

        return boom
    if kind == "garbage":
        return lambda req: req.prompt()  # a truthy string, not a bool
    return kind


class PointEnv(Env):
    """A tiny screen that executes every action type and asserts each point it receives is
    finite and on the screen, in screenshot px and in input units."""

    name = "points"
    capabilities = frozenset(ACTION_TYPES) - TERMINAL_TYPES

    def __init__(self, w: int, h: int, scale: float = 1.0) -> None:
        super().__init__()
        self.w, self.h, self.scale = w, h, scale
        self.points: list[tuple[float, float, int, int]] = []
        self._img = np.full((h, w, 3), 200, np.uint8)

    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        self.points.clear()

    def _capture(self) -> Observation:
        return Observation(array=self._img, scale=self.scale, url="http://127.0.0.1/x")

    def _execute(self, action: Action, frame: Frame) -> None:
        for x, y in action_points(action):
            assert math.isfinite(x) and math.isfinite(y), (x, y)
            check_on_screen(frame, x, y)  # within the clamp tolerance, or this raises
            ux, uy = self.to_input((x, y), frame)
            uw, uh = frame.input_size_units
            assert 0 <= ux < uw and 0 <= uy < uh, (ux, uy, uw, uh)
            self.points.append((x, y, ux, uy))


def _frame_for(fmt: str, w: int, h: int, scale: float) -> Frame:
    return Frame.for_screen(
        w,
        h,
        mode=mode_for(fmt),
        convention=convention_for(fmt),
        scale=scale,
        max_tokens=4096,
        **frame_options(fmt),
    )


for _fmt in ZOO:
    VALID[_fmt], EDGE[_fmt] = valid_outputs(_fmt), [edge_template(_fmt)]


# ---- every parser, then the gate ------------------------------------------------------------


@pytest.mark.parametrize("fmt", FMTS)
@settings(max_examples=CASES["parse_gate"], **SETTINGS)
@given(
    data=st.data(),
    w=st.integers(28, 3000),
    h=st.integers(28, 3000),
    scale=st.sampled_from([1.0, 1.5, 2.0]),
    target=st.text(max_size=60),
)
def test_parser_then_gate(fmt: str, data: Any, w: int, h: int, scale: float, target: str) -> None:
    frame = _frame_for(fmt, w, h, scale)
    text = data.draw(outputs(fmt, frame))
    try:
        parsed = parse(fmt, text, frame, convention=convention_for(fmt))
    except ParseError as err:
        assert err.format == fmt
        event("ParseError")
        return
    event("parsed")
    env = PointEnv(min(w, 64), min(h, 64), scale)
    obs = Observation(array=np.zeros((h, w, 3), np.uint8), scale=scale, url="http://h/")
    gate = PolicyGate(
        data.draw(policies()),
        confirm=data.draw(st.sampled_from(["yes", "no"])),
        reader=FixedReader(target, None),
    )
    for action in parsed.actions:
        for x, y in action_points(action):
            check_on_screen(frame, x, y)
        d = gate.check(action, env, obs)
        assert d.verdict in ("allow", "deny")
        json.dumps(d.to_json())


@pytest.mark.parametrize("fmt", ZOO)
@settings(max_examples=CASES["zoo"], **SETTINGS)
@given(
    data=st.data(),
    w=st.integers(28, 3000),
    h=st.integers(28, 3000),
    scale=st.sampled_from([1.0, 1.5, 2.0]),
    target=st.text(max_size=60),
)
def test_fine_tune_parser_then_gate(
    fmt: str, data: Any, w: int, h: int, scale: float, target: str
) -> None:
    inner = test_parser_then_gate.hypothesis.inner_test  # type: ignore[attr-defined]
    inner(fmt=fmt, data=data, w=w, h=h, scale=scale, target=target)


# ---- the gate alone -----------------------------------------------------------------------------

COORD = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
POINT = st.tuples(COORD, COORD)


@st.composite
def actions(draw: Any) -> Action:
    t = draw(st.sampled_from(ACTION_TYPES))
    d: dict[str, Any] = {"type": t}
    if t in ("click", "double_click", "right_click", "middle_click", "hover", "long_press"):
        d["point"] = draw(POINT)
        d["target"] = draw(st.none() | st.text(max_size=20))
    elif t in ("drag", "swipe"):
        d["start"], d["end"] = draw(POINT), draw(POINT)
    elif t == "type":
        d["text"] = draw(st.text(max_size=40))
        d["point"] = draw(st.none() | POINT)
        d["enter"] = draw(st.booleans())
    elif t == "key":
        d["keys"] = draw(st.sampled_from(["enter", "space", "ctrl+enter", "a", "alt+f4"]))
    elif t == "scroll":
        d["direction"] = draw(st.sampled_from(["up", "down", "left", "right"]))
        d["point"] = draw(st.none() | POINT)
    elif t == "navigate":
        d["url"] = draw(
            st.one_of(
                st.text(min_size=1, max_size=60),
                st.sampled_from(
                    [
                        "http://[::1",
                        "http://h:99999/",
                        "javascript:x",
                        "about:blank",
                        "http://127.0.0.1/a",
                    ]
                ),
            )
        )
    elif t == "open_app":
        d["name"] = draw(st.text(min_size=1, max_size=20))
    elif t == "zoom":
        d["region"] = [*draw(POINT), *draw(POINT)]
        d["scale"] = draw(st.sampled_from([1, 2]))
    return parse_action(d)


@pytest.mark.slow
@settings(max_examples=CASES["gate"], **SETTINGS)
@given(
    action=actions(),
    policy=policies(),
    target=st.text(max_size=80),
    href=st.none() | st.text(max_size=40),
    url=st.none() | st.text(max_size=60),
    app=st.none() | st.text(max_size=10),
    confirm=st.sampled_from(["yes", "no", "auto", "raises", "garbage"]),
)
def test_gate_never_raises(
    action: Action,
    policy: Policy,
    target: str,
    href: str | None,
    url: str | None,
    app: str | None,
    confirm: str,
) -> None:
    env = PointEnv(40, 30)
    obs = Observation(array=np.zeros((30, 40, 3), np.uint8), url=url, app=app)
    gate = PolicyGate(policy, confirm=_confirm(confirm), reader=FixedReader(target, href))
    d = gate.check(action, env, obs)
    assert d.verdict in ("allow", "deny") and d.policy == policy.name
    json.dumps(d.to_json())
    if policy.default == "deny" and not policy.rules[:-1] and d.verdict == "allow":
        assert d.rule == "irreversible"  # only a matching rule can allow under default deny


# ---- the real loop, scripted by hypothesis ------------------------------------------------


@pytest.fixture(scope="module")
def scratch() -> Any:
    shm = Path("/dev/shm")  # episodes fsync each file: memory keeps that cheap
    d = Path(tempfile.mkdtemp(prefix="hostile-", dir=shm if shm.is_dir() else None))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FMTS)
@settings(max_examples=CASES["loop"], **SETTINGS)
@given(
    data=st.data(),
    w=st.integers(28, 200),
    h=st.integers(28, 200),
    scale=st.sampled_from([1.0, 2.0]),
    target=st.text(max_size=30),
)
def test_loop_never_lets_a_bad_point_through(
    scratch: Path, fmt: str, data: Any, w: int, h: int, scale: float, target: str
) -> None:
    env = PointEnv(w, h, scale)
    frame = _frame_for(fmt, w, h, scale)
    texts = data.draw(st.lists(outputs(fmt, frame), min_size=1, max_size=4))
    policy = data.draw(st.one_of(st.just(Policy(rules=())), policies()))  # often all allowed
    gate = PolicyGate(
        policy, confirm=data.draw(st.sampled_from(["yes", "no"])), reader=FixedReader(target, None)
    )
    out = Path(tempfile.mkdtemp(dir=scratch))
    writer = EpisodeWriter(out, {"task": {"goal": "hostile"}}, reserve_bytes=0)
    loop = Loop(
        env,
        ScriptedModel(texts, fmt),
        writer,
        gate=gate,
        config=LoopConfig(max_steps=3, parse_retries=1),
    )
    try:
        result = loop.run("hostile", env.reset())
    finally:
        writer.finish({"status": "done"})
        shutil.rmtree(out, ignore_errors=True)
    event("a point reached the env" if env.points else "no point reached the env")
    assert result.status in (
        "success",
        "failure",
        "call_user",
        "max_steps",
        "no_progress",
        "parse_error",
        "truncated",
    )
    uw, uh = frame.input_size_units
    for x, y, ux, uy in env.points:
        assert math.isfinite(x) and math.isfinite(y)
        check_on_screen(frame, x, y)
        assert 0 <= ux < uw and 0 <= uy < uh


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ZOO)
@settings(max_examples=CASES["zoo_loop"], **SETTINGS)
@given(
    data=st.data(),
    w=st.integers(28, 200),
    h=st.integers(28, 200),
    scale=st.sampled_from([1.0, 2.0]),
    target=st.text(max_size=30),
)
def test_fine_tune_loop_never_lets_a_bad_point_through(
    scratch: Path, fmt: str, data: Any, w: int, h: int, scale: float, target: str
) -> None:
    inner = test_loop_never_lets_a_bad_point_through.hypothesis.inner_test  # type: ignore[attr-defined]
    inner(scratch=scratch, fmt=fmt, data=data, w=w, h=h, scale=scale, target=target)
