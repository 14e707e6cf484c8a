"""Our UI-TARS parser against the official one (PyPI ``ui-tars``,
``parse_action_to_structure_output``) on generated outputs and screen sizes: every output
the official parser accepts means the same actions, at the same screenshot pixels. Where
the official parser has a bug, a test below names it and pins our (documented) behaviour.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ui_tars.action_parser import MIN_PIXELS as UITARS_MIN
from ui_tars.action_parser import parse_action_to_structure_output as official_parse
from ui_tars.action_parser import parsing_response_to_pyautogui_code
from ui_tars.action_parser import smart_resize as official_smart_resize

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
    Type,
    Wait,
    normalize_keys,
)
from agent.core.coords import Frame, smart_resize
from agent.core.errors import ParseError
from model.parsers import UITARS_MIN_PIXELS, convention_for, frame_options, parse

# ≥ 10 screens from 320x240 to 3840x2160 (phones portrait, laptops, 4K)
SCREENS = [
    (320, 240), (400, 300), (640, 480), (720, 1280), (750, 1334), (1024, 768), (1080, 1920),
    (1280, 720),
    (1366, 768), (1440, 900), (1920, 1080), (2560, 1440), (3840, 2160),
]  # fmt: skip
WORDS = ["click", "the", "search", "box", "then", "type", "OK", "menu", "settings", "按钮", "é"]
POINTERS = {"click": Click, "left_single": Click, "left_double": DoubleClick,
            "right_single": RightClick, "hover": Hover, "long_press": LongPress}  # fmt: skip
SAFE_TEXT = st.text(
    alphabet=st.sampled_from([*"abcXYZ019 ,.-_!?@#$%&*+/:;<>[]{}=~`", "é", "中", '"']),
    max_size=24,
).filter(lambda s: "point=" not in s and "Action: " not in s and ")\n\n" not in s)


def model_space(w: int, h: int, v15: bool) -> tuple[int, int]:
    """(width, height) of the model's coordinates: UI-TARS-1.5 px of the official
    smart_resize (min 78,400 px²), v1 0–1000."""
    if not v15:
        return 1000, 1000
    rh, rw = official_smart_resize(h, w, min_pixels=UITARS_MIN)
    return rw, rh


@st.composite
def coord(draw, space: tuple[int, int], point_tag: bool) -> tuple[str, str, list[float]]:
    """(kwarg suffix, value, numbers): '(x,y)', '(x1,y1,x2,y2)' or '<point>x y</point>'."""
    mw, mh = space
    x, y = draw(st.integers(0, mw - 1)), draw(st.integers(0, mh - 1))
    if point_tag:
        return "point", f"<point>{x} {y}</point>", [x, y]
    if draw(st.booleans()):
        x2, y2 = draw(st.integers(x, mw - 1)), draw(st.integers(y, mh - 1))
        return "box", f"({x},{y},{x2},{y2})", [x, y, x2, y2]
    return "box", f"({x},{y})", [x, y]


def _escape(text: str) -> str:
    return text.replace("\\", "").replace("'", "\\'")


BS = chr(92)  # one backslash, as the model writes it
# endings that press Enter in the official pyautogui code: "\n" (a newline once read), an
# escaped backslash then n (a written backslash-n), and an escaped backslash then "\n"
ENTER_ENDINGS = [BS + "n", BS + BS + "n", BS + BS + BS + "n"]
# typed text with quotes before commas, left unescaped as models write them: the official
# parser ends the text only at "')"
QUOTE_BITS = ["'", '"', "', ", "',", '", ', "'s", "', b='c", '"hi", ', BS + "'", ", "]
QUOTED_TEXT = (
    st.lists(st.one_of(st.sampled_from(QUOTE_BITS), SAFE_TEXT), min_size=1, max_size=6)
    .map("".join)
    .filter(lambda t: t.strip() and not t[0].isspace() and not t.endswith(BS))
    .filter(lambda t: "')" not in t and ("'," in t or '",' in t))
    .filter(lambda t: "point=" not in t and "Action: " not in t)
)


@st.composite
def typed(draw) -> tuple[str, str]:
    """(class, a type call) of the two classes that once disagreed: text ending in an
    Enter-pressing ending, text with a quote before a comma (and both at once)."""
    kind = draw(st.sampled_from(["enter", "quote_comma", "both"]))
    if kind == "enter":
        text = _escape(draw(SAFE_TEXT.filter(lambda t: t.strip() and not t[0].isspace())))
    else:
        text = draw(QUOTED_TEXT)
    if kind == "quote_comma":  # ending in a quote, or a call's "')", the official way too
        ending = draw(st.sampled_from(["", "'", "f('q')"]))
    else:
        ending = draw(st.sampled_from(ENTER_ENDINGS))
    return kind, f"type(content='{text}{ending}')"


@st.composite
def one_action(draw, space: tuple[int, int]) -> str:
    kind = draw(
        st.sampled_from(
            [*POINTERS, "drag", "hotkey", "type", "scroll", "wait", "finished", "press_home",
             "press_back", "open_app"]
        )
    )  # fmt: skip
    tag = draw(st.booleans())  # UI-TARS-1.5 style point='<point>x y</point>'
    if kind in POINTERS:
        _, value, _ = draw(coord(space, tag))
        return f"{kind}({'point' if tag else 'start_box'}='{value}')"
    if kind == "drag":
        _, a, _ = draw(coord(space, tag))
        _, b, _ = draw(coord(space, tag))
        keys = ("start_point", "end_point") if tag else ("start_box", "end_box")
        return f"drag({keys[0]}='{a}', {keys[1]}='{b}')"
    if kind == "hotkey":
        keys = draw(st.lists(st.sampled_from(["ctrl", "shift", "alt", "c", "v", "t", "enter",
                                              "tab", "f5"]), min_size=1, max_size=3))  # fmt: skip
        return f"hotkey(key='{' '.join(keys)}')"
    if kind == "type":
        # no leading blank: the official parser lstrips typed text (a bug, named below)
        content = _escape(draw(SAFE_TEXT.filter(lambda t: t.strip() and not t[0].isspace())))
        return f"type(content='{content}{draw(st.sampled_from(['', chr(92) + 'n']))}')"
    if kind == "scroll":
        direction = draw(st.sampled_from(["up", "down", "left", "right"]))
        if draw(st.booleans()):
            _, value, _ = draw(coord(space, False))
            return f"scroll(start_box='{value}', direction='{direction}')"
        return f"scroll(direction='{direction}')"
    if kind == "finished":
        return f"finished(content='{_escape(draw(SAFE_TEXT))}')"
    if kind == "open_app":
        return f"open_app(app_name='{draw(st.sampled_from(['Chrome', 'Settings', 'Maps']))}')"
    return f"{kind}()"


@st.composite
def uitars_output(draw) -> tuple[str, int, int, bool]:
    w, h = draw(st.sampled_from(SCREENS))
    v15 = draw(st.booleans())
    space = model_space(w, h, v15)
    thought = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8)))
    head = draw(st.sampled_from(["Thought: ", "Reflection: r\nAction_Summary: "]))
    actions = draw(st.lists(one_action(space), min_size=1, max_size=3))
    return f"{head}{thought}\nAction: " + "\n\n".join(actions), w, h, v15


def expected(off: dict, w: int, h: int):
    """The action the official structure means, in screenshot px (its start_box/end_box are
    fractions of the screen: num / smart_resize size for 1.5, num / 1000 for v1)."""
    kind, args = off["action_type"], off["action_inputs"]

    def centre(key: str) -> tuple[float, float]:
        x1, y1, x2, y2 = (float(v) for v in args[key].strip("[]").split(","))
        return (x1 + x2) / 2 * w, (y1 + y2) / 2 * h

    if kind in POINTERS:
        return POINTERS[kind](point=centre("start_box"))
    if kind == "drag":
        return Drag(start=centre("start_box"), end=centre("end_box"))
    if kind == "hotkey":
        return Key(keys=normalize_keys(args["key"].replace(" ", "+")))
    if kind == "type":
        # the effect of the official pyautogui code: paste the text, then press Enter or not
        # (a pasted final newline is what that Enter stands for: ours types the rest)
        code = parsing_response_to_pyautogui_code([off], h, w)
        content = args["content"]
        text = content[:-1] if content.endswith("\n") else content
        return Type(text=text, enter="pyautogui.press('enter')" in code)
    if kind == "scroll":
        point = centre("start_box") if "start_box" in args else None
        return Scroll(direction=args["direction"], point=point)
    if kind == "wait":
        return Wait(seconds=5)
    if kind == "finished":
        return Finish(answer=args.get("content") or None)
    if kind == "open_app":
        return OpenApp(name=args["app_name"])
    return {"press_home": Home(), "press_back": Back()}[kind]


def same(ours, theirs) -> bool:
    if type(ours) is not type(theirs):
        return False
    a, b = ours.model_dump(exclude={"box"}), theirs.model_dump(exclude={"box"})
    for key in ("point", "start", "end"):
        pa, pb = a.pop(key, None), b.pop(key, None)
        if (pa is None) != (pb is None):
            return False
        if pa is not None and not all(
            math.isclose(u, v, abs_tol=1e-6) for u, v in zip(pa, pb, strict=True)
        ):
            return False
    return a == b


def our_frame(fmt: str, w: int, h: int) -> Frame:
    # v1 in resize mode: 0–1000 of the whole screen, as the official parser reads them (in pad
    # mode they are 0–1000 of the padded input the model saw — by design, see README)
    return Frame.for_screen(
        w, h, mode="resize", convention=convention_for(fmt), **frame_options(fmt)
    )


COUNT = {"compared": 0, "sizes": set()}


@pytest.mark.slow
@settings(
    max_examples=2200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=uitars_output())
def test_agrees_with_the_official_parser(case: tuple[str, int, int, bool]) -> None:
    text, w, h, v15 = case
    fmt = "ui-tars-1.5" if v15 else "ui-tars"
    theirs = official_parse(text, 1000, h, w, model_type="qwen25vl" if v15 else "qwen2vl")
    ours = parse(fmt, text, our_frame(fmt, w, h)).actions
    want = [expected(o, w, h) for o in theirs]
    assert len(ours) == len(want), (text, ours, want)
    for a, b in zip(ours, want, strict=True):
        assert same(a, b), (text, a, b)
    COUNT["compared"] += 1
    COUNT["sizes"].add((w, h))


@st.composite
def typed_output(draw) -> tuple[str, str, int, int, bool]:
    """An output whose actions include a typed text of the two classes, among others."""
    w, h = draw(st.sampled_from(SCREENS))
    v15 = draw(st.booleans())
    kind, call = draw(typed())
    others = draw(st.lists(one_action(model_space(w, h, v15)), max_size=2))
    at = draw(st.integers(0, len(others)))
    actions = [*others[:at], call, *others[at:]]
    return kind, "Thought: type it\nAction: " + "\n\n".join(actions), w, h, v15


TYPED: dict[str, set] = {"enter": set(), "quote_comma": set(), "both": set(), "sizes": set()}


@pytest.mark.slow
@settings(
    max_examples=1200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(case=typed_output())
def test_typed_text_agrees_with_the_official_parser(
    case: tuple[str, str, int, int, bool],
) -> None:
    kind, text, w, h, v15 = case
    fmt = "ui-tars-1.5" if v15 else "ui-tars"
    theirs = official_parse(text, 1000, h, w, model_type="qwen25vl" if v15 else "qwen2vl")
    ours = parse(fmt, text, our_frame(fmt, w, h)).actions
    want = [expected(o, w, h) for o in theirs]
    assert len(ours) == len(want), (text, ours, want)
    for a, b in zip(ours, want, strict=True):
        assert same(a, b), (text, a, b)
    TYPED[kind].add(text)
    TYPED["sizes"].add((w, h, v15))


@pytest.mark.slow
def test_the_differential_run_covered_enough() -> None:
    """Runs after the property tests (file order): ≥ 2,000 outputs over ≥ 10 sizes; ≥ 200
    distinct outputs of each typed-text class (236 to 400 seen: the draws vary between runs),
    over every size in both formats."""
    assert COUNT["compared"] >= 2000 and len(COUNT["sizes"]) >= 10, COUNT
    assert all(len(TYPED[k]) >= 200 for k in ("enter", "quote_comma", "both")), {
        k: len(v) for k, v in TYPED.items()
    }
    assert len(TYPED["sizes"]) == 2 * len(SCREENS), TYPED["sizes"]


@pytest.mark.parametrize(("w", "h"), [*SCREENS, (100, 100), (200, 150), (299, 262)])
def test_smart_resize_space_equals_the_official_one_small_screens_included(w, h) -> None:
    frame = our_frame("ui-tars-1.5", w, h)
    assert UITARS_MIN_PIXELS == UITARS_MIN
    assert (frame.input_h, frame.input_w) == official_smart_resize(h, w, min_pixels=UITARS_MIN)
    assert (frame.input_h, frame.input_w) == smart_resize(h, w, 28, UITARS_MIN, 16384 * 784)


def test_two_action_lines_official_runs_the_last() -> None:
    text = "Thought: x\nAction: click(start_box='(10,10)')\nAction: click(start_box='(500,500)')"
    (theirs,) = official_parse(text, 1000, 1080, 1920, model_type="qwen2vl")
    (ours,) = parse("ui-tars", text, our_frame("ui-tars", 1920, 1080)).actions
    assert same(ours, expected(theirs, 1920, 1080)) and ours.point == (960, 540)


def test_v1_mobile_scroll_with_end_box_and_long_press_with_empty_time() -> None:
    frame = our_frame("ui-tars", 1080, 1920)
    text = "Action: scroll(start_box='(500,800)', end_box='(500,200)')"
    (swipe,) = parse("ui-tars", text, frame).actions
    assert swipe.type == "swipe"
    assert swipe.start == pytest.approx((540, 1536)) and swipe.end == pytest.approx((540, 384))
    text = "Action: long_press(start_box='(500,500)', time='')"
    (theirs,) = official_parse(text, 1000, 1920, 1080, model_type="qwen2vl")
    assert "time" not in theirs["action_inputs"]  # official: '' means absent
    (ours,) = parse("ui-tars", text, frame).actions
    assert same(ours, expected(theirs, 1080, 1920))


# ---- where the official parser is wrong (named), and what we do instead ---------------------


def test_official_bug_rewrites_point_inside_typed_text() -> None:
    """``text.replace("point=", "start_box=")`` runs over the whole output, typed text too."""
    text = "Thought: x\nAction: type(content='set point=3')"
    (theirs,) = official_parse(text, 1000, 1080, 1920)
    assert theirs["action_inputs"]["content"] == "set start_box=3"  # the bug
    (ours,) = parse("ui-tars-1.5", text, our_frame("ui-tars-1.5", 1920, 1080)).actions
    assert ours == Type(text="set point=3")


def test_official_bug_drops_leading_blanks_of_typed_text() -> None:
    """Every argument goes through ``param.lstrip()``: typing " world" after "hello" would
    lose its space. We type the text as written."""
    text = "Thought: x\nAction: type(content=' world')"
    (theirs,) = official_parse(text, 1000, 1080, 1920)
    assert theirs["action_inputs"]["content"] == "world"  # the bug
    (ours,) = parse("ui-tars-1.5", text, our_frame("ui-tars-1.5", 1920, 1080)).actions
    assert ours == Type(text=" world")


def test_official_bug_float_points_are_refused() -> None:
    """Its ``<point>`` pattern is ``(\\d+)\\s+(\\d+)``: fractional points reach float()."""
    text = "Thought: x\nAction: click(point='<point>100.5 200.5</point>')"
    with pytest.raises(ValueError, match="could not convert"):
        official_parse(text, 1000, 1080, 1920)
    (ours,) = parse("ui-tars-1.5", text, our_frame("ui-tars-1.5", 1920, 1080)).actions
    assert ours.type == "click"


def test_official_bug_action_without_space_is_refused() -> None:
    text = "Thought: x\nAction:click(start_box='(1,2)')"
    with pytest.raises(ValueError, match="can't parse"):
        official_parse(text, 1000, 1080, 1920)
    assert parse("ui-tars-1.5", text, our_frame("ui-tars-1.5", 1920, 1080)).actions


def test_official_bug_readme_pyautogui_path_collapses_15_clicks_to_the_corner() -> None:
    """The README pairs ``model_type="qwen25vl"`` (fractions 0–1) with
    ``parsing_response_to_pyautogui_code``'s default ``scale_factor=1000``: a click at the
    screen centre lands at (0.954, 0.534). We click (959.5, 539.5)."""
    text = "Thought: x\nAction: click(start_box='(960,540)')"
    structured = official_parse(text, 1000, 1080, 1920, model_type="qwen25vl")
    code = parsing_response_to_pyautogui_code(structured, 1080, 1920)
    assert "pyautogui.click(0.954, 0.534, button='left')" in code
    (ours,) = parse("ui-tars-1.5", text, our_frame("ui-tars-1.5", 1920, 1080)).actions
    assert ours.point == pytest.approx((960 * 1920 / 1932, 540 * 1080 / 1092))


# ---- typed text: Enter endings and quotes before commas --------------------------------------


def _one(text: str, fmt: str = "ui-tars-1.5"):
    (action,) = parse(fmt, "Thought: x\nAction: " + text, our_frame(fmt, 1920, 1080)).actions
    return action


@pytest.mark.parametrize(
    ("written", "content", "ours"),
    [
        # "\n" (backslash, n): a newline once read; pasted with the text, then Enter
        (BS + "n", "hi\n", Type(text="hi", enter=True)),
        # "\\n": a written backslash-n; pasted as written (its strip is commented out), Enter
        (BS + BS + "n", "hi" + BS + "n", Type(text="hi" + BS + "n", enter=True)),
        # "\\\n": a backslash, then a newline
        (BS + BS + BS + "n", "hi" + BS + "\n", Type(text="hi" + BS, enter=True)),
        (BS + BS, "hi" + BS, Type(text="hi" + BS)),  # no Enter for a lone backslash
    ],
)
def test_what_the_official_code_does_for_each_enter_ending(written, content, ours) -> None:
    text = f"Thought: x\nAction: type(content='hi{written}')"
    (theirs,) = official_parse(text, 1000, 1080, 1920)
    assert theirs["action_inputs"]["content"] == content
    code = parsing_response_to_pyautogui_code([theirs], 1080, 1920)
    assert f"pyperclip.copy({content!r})" in code
    assert ("pyautogui.press('enter')" in code) is ours.enter
    assert _one(f"type(content='hi{written}')") == ours


def test_a_real_newline_before_the_quote_submits_though_the_official_parser_refuses() -> None:
    """Its ``type\\(content='(.*?)'\\)`` does not cross a line, so it raises; we read the
    newline as the Enter the model meant."""
    with pytest.raises(ValueError, match="Pattern not found"):
        official_parse("Thought: x\nAction: type(content='hi\n')", 1000, 1080, 1920)
    assert _one("type(content='hi\n')", "ui-tars") == Type(text="hi", enter=True)
    assert _one("type(content='a\nb')") == Type(text="a\nb")  # a newline inside stays


@pytest.mark.parametrize(
    ("call", "typed"),
    [
        ("type(content='He said \"hi\", then left')", 'He said "hi", then left'),
        ("type(content='a', b')", "a', b"),
        ("type(content='a',b')", "a',b"),
        ("type(content='a', b='c')", "a', b='c"),  # one argument: the official rule
        ("type(content='print('a', 'b')')", "print('a', 'b')"),
        ("type(content='it\\'s', ok')", "it's', ok"),
    ],
)
def test_a_quote_before_a_comma_is_typed_as_the_official_parser_types_it(call, typed) -> None:
    (theirs,) = official_parse(f"Thought: x\nAction: {call}", 1000, 1080, 1920)
    assert theirs["action_inputs"]["content"] == typed
    assert _one(call) == Type(text=typed)
    assert _one(call.replace("content=", "text=")) == Type(text=typed)  # our alias too


@pytest.mark.parametrize(
    "call",
    [
        "type(content='a', b",  # never closed
        "type(content='a', b)",  # no quote before the ')'
        "type(content='x') junk",  # official: types "x junk)"
        "type(content='f('a') g('b')')",  # a call follows the first "')"
        "type(content='one', x\ntwo')",  # the rule holds on one line (official: refused)
        "finished(content='a', b')",  # only typed text has the rule (official: refused too)
        "click(start_box='(1,2)', x')",
    ],
)
def test_malformed_calls_stay_parse_errors(call) -> None:
    for fmt in ("ui-tars", "ui-tars-1.5"):
        with pytest.raises(ParseError):
            parse(fmt, f"Thought: x\nAction: {call}", our_frame(fmt, 1920, 1080))


@pytest.mark.parametrize(
    ("call", "official", "ours"),
    [
        ("type(content='f('a') and g('b')')", "f('a and g('b')')", "f('a') and g('b')"),
        ("type(content='a'), b')", "a, b')", "a'), b"),
    ],
)
def test_official_bug_moves_the_first_quote_paren_of_typed_text_to_its_end(
    call, official, ours
) -> None:
    """It cuts the text at the first ``')`` and glues the rest of the line back on after it,
    so an inner ``')`` moves to the end. We type the text up to the ``')`` ending the call."""
    (theirs,) = official_parse(f"Thought: x\nAction: {call}", 1000, 1080, 1920)
    assert theirs["action_inputs"]["content"] == official  # the bug
    assert _one(call) == Type(text=ours)


def test_official_bug_pastes_a_backslash_before_each_apostrophe() -> None:
    """Its pyautogui code runs ``escape_single_quotes`` on the text before ``repr``: "it's"
    is pasted as ``it\\'s``. We type "it's"."""
    (theirs,) = official_parse("Thought: x\nAction: type(content='it\\'s')", 1000, 1080, 1920)
    assert theirs["action_inputs"]["content"] == "it's"
    code = parsing_response_to_pyautogui_code([theirs], 1080, 1920)
    assert "pyperclip.copy(" + repr("it" + BS + "'s") + ")" in code  # the bug
    assert _one("type(content='it\\'s')") == Type(text="it's")
