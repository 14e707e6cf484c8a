"""OpenCUA and Aguvis: pyautogui code read as data, against the authors' recorded outputs.

Official paths followed (tests/model/official/pyautogui/SOURCES.md):

* OpenCUA (navigation and grounding): the authors' OSWorld agent,
  ``parse_response_to_cot_and_action(coordinate_type="qwen25")`` →
  ``project_coordinate_to_absolute_scale`` → ``smart_resize(28, 3136, 12845056)``; screen px
  = int(x / W_resized * w). AgentNetBench's evaluation converts the same way for x, y > 1.
  Where they disagree (both ≤ 1) we read a float pair as a fraction of the image (the
  evaluation's reading), not the agent's ``round(x * W_resized)``; triple clicks have no
  action here (ParseError).
* Aguvis (grounding; the repo has no parser): OpenCUA's AgentNetBench ``aguvis.py``
  ``parse_response`` / ``extract_actions``: the first ``pyautogui`` line, x * w, y * h.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.core.actions import (
    Action,
    Back,
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
from agent.core.errors import ParseError
from agent.core.model import ModelRequest
from agent.core.observation import Observation
from agent.export.render import render, same_action, tolerance
from model.parsers import convention_for, frame_options, mode_for, parse, spec_for
from model.profiles import detect_profile, get_profile
from model.prompts import build_messages

OFFICIAL = Path(__file__).parent / "official" / "pyautogui"
OPENCUA_CASES = json.loads((OFFICIAL / "opencua_cases.json").read_text("utf-8"))
AGUVIS_CASES = json.loads((OFFICIAL / "aguvis_cases.json").read_text("utf-8"))
SCREENS = [(720, 1280), (1080, 2400), (1280, 720), (1920, 1080), (2560, 1440), (3840, 2160)]

# OSWorld kind → our action type; None: a ParseError by design
KINDS: dict[str, str | None] = {
    "click": "click",
    "click_pos": "click",
    "doubleClick": "double_click",
    "rightClick": "right_click",
    "middleClick": "middle_click",
    "moveTo": "hover",
    "dragTo": "drag",
    "click_rel01": "click",
    "scroll": "scroll",
    "write": "type",
    "press": "key",
    "hotkey": "key",
    "terminate_success": "finish",
    "terminate_failure": "finish",
    "wait": "wait",
    "tripleClick": None,
    "computer.triple_click": None,
}


def _kind(case: dict[str, Any]) -> str:
    return case["text"].split("Do the ", 1)[1].split(" action", 1)[0]


def _points(a: Action) -> list[tuple[float, float]]:
    return [p for k in ("point", "start", "end") if (p := getattr(a, k, None)) is not None]


# ---- 1. oracle ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", OPENCUA_CASES[:-1], ids=lambda c: f"{_kind(c)}-{c['screen']}")
def test_opencua_matches_the_osworld_agent(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    frame = spec_for("opencua").coords.frame(w, h, mode="resize")
    off = case["official"]
    assert [frame.input_w, frame.input_h] == off["resized_wh"]
    kind, want = _kind(case), KINDS[_kind(case)]
    if want is None:
        with pytest.raises(ParseError, match="triple"):
            parse("opencua", case["text"], frame)
        return
    parsed = parse("opencua", case["text"], frame)
    assert [a.type for a in parsed.actions] == [want]
    a = parsed.actions[0]
    assert parsed.thought == "I will act."
    if kind == "click_rel01":  # ours: a fraction of the image; theirs: resized px (see doc)
        fx, fy = (float(v) for v in case["text"].split("click(x=")[1].split(")")[0].split(", y="))
        assert _points(a)[0] == pytest.approx((fx * w, fy * h))
        return
    got = _points(a)
    assert len(got) == len(off["points_screen_px"])
    for (gx, gy), (ox, oy) in zip(got, off["points_screen_px"], strict=True):
        assert ox - 1 <= gx <= ox + 1 and oy - 1 <= gy <= oy + 1, (got, off)
        assert math.floor(gx + 1e-9) == ox and math.floor(gy + 1e-9) == oy  # int() of theirs
    if off["code"] == ["DONE"] or off["code"] == ["FAIL"]:
        assert a == Finish(status="success" if off["code"] == ["DONE"] else "failure")
    if kind == "scroll":
        n = int(case["text"].split("scroll(")[1].split(")")[0])
        assert a == Scroll(direction="up" if n > 0 else "down", amount=abs(n))
    if kind == "write":
        assert a == Type(text=case["text"].split("message='")[1].split("'")[0])
    if kind == "hotkey":
        assert isinstance(a, Key) and a.keys.startswith("ctrl+")


def test_opencua_readme_grounding_example() -> None:
    case = OPENCUA_CASES[-1]
    frame = spec_for("opencua").coords.frame(*case["screen"], mode="resize")
    (a,) = parse("opencua", case["text"], frame).actions
    rx, ry = case["official"]["readme_map"]
    assert isinstance(a, Click) and rx <= a.point[0] <= rx + 1 and ry <= a.point[1] <= ry + 1


@pytest.mark.parametrize("case", AGUVIS_CASES, ids=lambda c: f"{c['text'][:20]}-{c['screen']}")
def test_aguvis_matches_the_agentnetbench_parser(case: dict[str, Any]) -> None:
    w, h = case["screen"]
    frame = spec_for("aguvis").coords.frame(w, h, mode="resize")
    assert [frame.input_w, frame.input_h] == case["model_input_size_train_budget"]
    (a,) = parse("aguvis", case["text"], frame).actions
    # theirs labels doubleClick "click" ('click' in 'doubleClick'); ours keeps the double
    assert a.type == ("double_click" if "doubleClick" in case["text"] else "click")
    assert a.point == pytest.approx(tuple(case["official"]), abs=1e-6)  # type: ignore[union-attr]


# ---- 2. prompts, byte-equal ----------------------------------------------------------------


def _messages(family: str, space: str, task: str, w: int = 1920, h: int = 1080) -> list[Any]:
    fmt = get_profile(family).format_for(space)
    o = Observation(array=np.zeros((h, w, 3), np.uint8))
    frame = o.frame(mode=mode_for(fmt), convention=convention_for(fmt), **frame_options(fmt))
    request = ModelRequest(task, o, frame, [])
    return build_messages(request, get_profile(family), action_space=space)


def _user_text(messages: list[Any]) -> str:
    parts = messages[-1]["content"]
    assert [p["type"] for p in parts] == ["image", "text"]  # the screenshot comes first
    return str(parts[1]["text"])


def test_opencua_osworld_prompt_is_the_agents_step_one_bytes() -> None:
    want = json.loads((OFFICIAL / "opencua_osworld_step1_messages.json").read_text("utf-8"))
    got = _messages("opencua-osworld", "computer", "Open the Settings app")
    assert got[0] == {"role": "system", "content": want[0]["content"]}
    assert _user_text(got) == want[1]["content"][1]["text"]


def test_opencua_default_prompt_is_the_training_data_system_text() -> None:
    want = (OFFICIAL / "opencua_v1_l2_trainingdata_system.txt").read_text("utf-8")
    steps = json.loads((OFFICIAL / "opencua_osworld_step1_messages.json").read_text("utf-8"))
    got = _messages("opencua", "computer", "Open the Settings app", 1280, 720)
    assert got[0]["content"] == want
    assert _user_text(got) == steps[1]["content"][1]["text"]


def test_opencua_grounding_prompt() -> None:
    want = (OFFICIAL / "opencua_grounding_system.txt").read_text("utf-8")
    got = _messages("opencua", "grounding", "the Settings icon")
    assert got[0]["content"] == want and _user_text(got) == "the Settings icon"


def test_aguvis_grounding_prompt_is_the_cli_bytes() -> None:
    full = (OFFICIAL / "aguvis_grounding_fullprompt.txt").read_text("utf-8")
    system = full.split("<|im_start|>system\n", 1)[1].split("<|im_end|>", 1)[0]
    user = full.split("<|vision_end|>", 1)[1].split("<|im_end|>", 1)[0]
    got = _messages("aguvis", "grounding", "Click the search button")
    assert got[0]["content"] == system
    assert _user_text(got) == user


# ---- 3. round trip -------------------------------------------------------------------------


def _random_actions(rnd: random.Random, w: int, h: int, mobile: bool) -> list[Action]:
    def pt() -> tuple[float, float]:
        return (float(rnd.randint(2, w - 2)), float(rnd.randint(2, h - 2)))

    words = ["hello", 'it\'s "quoted"', "a\\b", "naïve 😀", "line\nbreak"]
    out: list[Action] = [
        Click(point=pt()),
        DoubleClick(point=pt()),
        RightClick(point=pt()),
        MiddleClick(point=pt()),
        Hover(point=pt()),
        Drag(start=pt(), end=pt()),
        Type(text=rnd.choice(words), point=pt(), enter=rnd.random() < 0.5),
        Type(text=rnd.choice(words)),
        Key(keys=rnd.choice(["enter", "ctrl+c", "ctrl+shift+t", "escape"])),
        Scroll(direction=rnd.choice(["up", "down", "left", "right"]), amount=rnd.randint(1, 20)),
        Scroll(direction="down", amount=3, point=pt()),
        Finish(status="success"),
        Finish(status="failure"),
        Finish(status="success", answer="42 apples"),
    ]
    if mobile:
        out += [LongPress(point=pt()), Swipe(start=pt(), end=pt()), Home(), Back()]
        out += [OpenApp(name="Settings"), Wait(seconds=3.0)]
    return out


@pytest.mark.parametrize("fmt", ["opencua", "aguvis"])
@pytest.mark.parametrize(("w", "h"), SCREENS)
@pytest.mark.parametrize("mode", ["pad", "resize"])
def test_render_then_parse_gives_the_actions_back(fmt: str, w: int, h: int, mode: str) -> None:
    frame = spec_for(fmt).coords.frame(w, h, mode=mode)  # type: ignore[arg-type]
    rnd = random.Random(f"{fmt}{w}{h}{mode}")
    for action in _random_actions(rnd, w, h, mobile=fmt == "aguvis"):
        for precise in (False, True):
            text = render([action], frame, fmt, precise=precise)
            back = parse(fmt, text, frame).actions
            why = same_action([action], back, fmt, tolerance(frame))
            assert why is None, (action, text, why)


def test_render_refuses_what_opencua_cannot_say() -> None:
    frame = spec_for("opencua").coords.frame(1920, 1080)
    from model.parsers.render import UnsupportedAction

    for action in (Swipe(start=(1, 2), end=(3, 4)), Home(), OpenApp(name="x")):
        with pytest.raises(UnsupportedAction):
            render([action], frame, "opencua")


# ---- 4. early stop -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "text", "ends_at"),
    [
        ("opencua", OPENCUA_CASES[0]["text"], "```\n"),
        ("opencua", OPENCUA_CASES[7 * 20]["text"], "```\n"),  # moveTo + dragTo in one block
        ("aguvis", "Action: Click it\npyautogui.click(x=0.5, y=0.25)", ")"),
        ("aguvis", "pyautogui.write(message='a)b')", ")"),
        ("aguvis", "pyautogui.moveTo(x=0.1, y=0.2)\npyautogui.dragTo(x=0.3, y=0.4)", ")"),
    ],
)
def test_complete_only_once_the_action_is_written(fmt: str, text: str, ends_at: str) -> None:
    done = spec_for(fmt).complete
    end = text.rindex(ends_at) + len(ends_at.rstrip("\n"))
    assert not any(done(text[:k]) for k in range(end)), "stopped before the action ended"
    assert done(text[:end]) and done(text)


def test_aguvis_hover_completes_when_no_drag_follows() -> None:
    done = spec_for("aguvis").complete
    assert not done("pyautogui.moveTo(x=0.1, y=0.2)\n")
    assert not done("pyautogui.moveTo(x=0.1, y=0.2)\npyautogui.drag")
    assert done("pyautogui.moveTo(x=0.1, y=0.2)\nDone")


# ---- 5. malformed and hostile output --------------------------------------------------------

BAD = {
    "truncated call": "pyautogui.click(x=100, y=",
    "open fence": "## Code:\n```python\npyautogui.click(x=100, y=200)",
    "unknown action": "pyautogui.screenshot()",
    "unknown module": "os.system('rm -rf /')",
    "off screen": "pyautogui.click(x=99999, y=5)",
    "nan": "pyautogui.click(x=float('nan'), y=5)",
    "nan literal": "pyautogui.click(x=1e999 - 1e999, y=5)",
    "infinite": "pyautogui.click(x=1e999, y=5)",
    "dunder import": "__import__('os').system('id')",
    "eval argument": "pyautogui.click(x=eval('1'), y=2)",
    "nested call": "pyautogui.click(x=pyautogui.position()[0], y=2)",
    "name argument": "pyautogui.click(x=width, y=2)",
    "attribute argument": "pyautogui.click(x=screen.width, y=2)",
    "subscript": "pyautogui.click(x=[5][0], y=2)",
    "f-string": "pyautogui.write(message=f'{secret}')",
    "lambda": "pyautogui.click(x=(lambda: 3)(), y=2)",
    "import": "import pyautogui\npyautogui.click(x=5, y=2)",
    "assignment": "x = 5\npyautogui.click(x=5, y=2)",
    "loop": "for i in range(3):\n    pyautogui.press('tab')",
    "while": "while True:\n    pyautogui.press('tab')",
    "with": "with open('/etc/passwd') as f:\n    pass",
    "kwargs": "pyautogui.click(**{'x': 1, 'y': 2})",
    "starargs": "pyautogui.hotkey(*['ctrl', 'c'])",
    "huge int": "pyautogui.click(x=1" + "0" * 5000 + ", y=2)",
    "huge press": "pyautogui.press('tab', presses=10**6)",
    "deep nesting": "pyautogui.click(x=" + "(" * 300 + "1" + ")" * 300 + ", y=2)",
    "triple click": "pyautogui.tripleClick(x=5, y=2)",
    "string coordinate": "pyautogui.click(x='5', y=2)",
    "bool coordinate": "pyautogui.click(x=True, y=2)",
    "bad status": "computer.terminate(status='maybe')",
    "held key": "pyautogui.keyDown('shift')\npyautogui.click(x=5, y=2)\npyautogui.keyUp('shift')",
    "scroll zero": "pyautogui.scroll(0)",
    "extra argument": "pyautogui.click(5, 2, 1, 0.1, 'left', 0.2, None, 7)",
    "unknown keyword": "pyautogui.click(x=5, y=2, evil=1)",
    "10k statements": "pyautogui.click(x=5, y=2)\n" * 10_000,
    "60 statements": "pyautogui.click(x=5, y=2)\n" * 60,
    "no code": "I think I should click the button.",
}


@pytest.mark.parametrize("fmt", ["opencua", "aguvis"])
@pytest.mark.parametrize("name", list(BAD))
def test_malformed_and_hostile_code_is_a_parse_error(fmt: str, name: str) -> None:
    frame = spec_for(fmt).coords.frame(1920, 1080)
    code = BAD[name]
    if fmt == "aguvis" and "x=5, y=2" in code:
        code = code.replace("x=5, y=2", "x=0.5, y=0.2")
    texts = [code] if "```" in code else [code, f"## Code:\n```python\n{code}\n```"]
    if name in ("import", "assignment"):  # bare lines before the first call are prose
        texts = texts[1:]
    for text in texts:
        with pytest.raises(ParseError):
            parse(fmt, text, frame)


def test_the_error_names_the_construct() -> None:
    frame = spec_for("opencua").coords.frame(1920, 1080)
    cases = {
        "pyautogui.click(x=eval('1'), y=2)": "Call",
        "pyautogui.click(x=w, y=2)": "Name",
        "pyautogui.write(message=f'{s}')": "JoinedStr",
        "pyautogui.click(x=a[0], y=2)": "Subscript",
        "pyautogui.click(x=(lambda: 1)(), y=2)": "Call",
        "import os": "Import",
        "x = 1": "Assign",
        "for i in 'ab': pass": "For",
        "__import__('os').system('id')": "__import__('os').system",
    }
    for code, construct in cases.items():
        with pytest.raises(ParseError, match=construct.replace("(", r"\(").replace(")", r"\)")):
            parse("opencua", f"```python\n{code}\n```", frame)


def test_last_block_wins_and_several_calls_are_several_actions() -> None:
    frame = spec_for("opencua").coords.frame(1920, 1080, mode="resize")
    text = (
        "## Thought:\nFirst ```python\npyautogui.click(x=1, y=1)\n``` was wrong.\n"
        "## Action:\nType the name\n## Code:\n```python\n"
        "pyautogui.click(x=966, y=546)\npyautogui.write(message='Bob\\n')\n"
        "pyautogui.hotkey('ctrl', 's')\npyautogui.press(['tab', 'tab'])\n```"
    )
    parsed = parse("opencua", text, frame)
    assert [a.type for a in parsed.actions] == ["click", "type", "key", "key", "key"]
    assert parsed.actions[0] == Click(point=(960.0, 540.0))
    assert parsed.actions[1] == Type(text="Bob", enter=True)
    assert parsed.actions[2] == Key(keys="ctrl+s")


def test_opencua_integers_at_most_one_stay_pixels() -> None:
    frame = spec_for("opencua").coords.frame(1920, 1080, mode="resize")
    (a,) = parse("opencua", "```python\npyautogui.click(x=1, y=0)\n```", frame).actions
    assert a.point == pytest.approx((1920 / 1932, 0.0))  # type: ignore[union-attr]


def test_aguvis_reads_its_recipient_prefixed_agent_output() -> None:
    frame = spec_for("aguvis").coords.frame(1000, 500, mode="resize")
    text = "<|recipient|>all\nThought: open it\nAction: Open Settings\n<|recipient|>os\n"
    text += "mobile.open_app(app_name='Settings')\nmobile.wait(seconds=2)"
    parsed = parse("aguvis", text, frame)
    assert parsed.actions == [OpenApp(name="Settings"), Wait(seconds=2.0)]
    assert parsed.thought is not None and "open it" in parsed.thought


# ---- 6. detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model_type", "family"),
    [
        ("xlangai/OpenCUA-7B", "opencua", "opencua"),
        ("xlangai/OpenCUA-32B", None, "opencua"),
        ("xlangai/OpenCUA-72B", "opencua", "opencua"),
        ("/models/some-checkpoint", "opencua", "opencua"),
        ("xlangai/Aguvis-7B-720P", "qwen2_vl", "aguvis"),
        ("xlangai/Aguvis-G-7B", None, "aguvis"),
        ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2_5_vl", "qwen2.5-vl"),
        ("Qwen/Qwen2-VL-7B-Instruct", "qwen2_vl", "qwen2-vl"),
        ("Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl", "qwen3-vl"),
        ("ByteDance-Seed/UI-TARS-1.5-7B", "qwen2_5_vl", "ui-tars-1.5"),
    ],
)
def test_detection(name: str, model_type: str | None, family: str) -> None:
    assert detect_profile(name, model_type).name == family


def test_profiles_carry_the_authors_budget_and_remote_code() -> None:
    cua, agu = get_profile("opencua"), get_profile("aguvis")
    assert cua.remote_code and not agu.remote_code
    assert (cua.min_pixels, cua.max_pixels, cua.grid) == (3136, 12_845_056, 28)
    assert (agu.min_pixels, agu.max_pixels) == (200_704, 937_664)
    assert cua.format_for("grounding") == "opencua" and agu.format_for("grounding") == "aguvis"


# ---- 7. trust_remote_code: OpenCUA's architecture is the checkpoint's own code ---------------

_OPENCUA_CONFIG = {
    "model_type": "opencua",
    "architectures": ["OpenCUAForConditionalGeneration"],
    "auto_map": {
        "AutoConfig": "configuration_opencua.OpenCUAConfig",
        "AutoModel": "modeling_opencua.OpenCUAForConditionalGeneration",
    },
}


def test_trust_remote_code_is_an_opt_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")
    from agent.core.errors import ConfigError, ModelError
    from model.config import resolve_settings
    from model.registry import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing here may reach the network
    ckpt = tmp_path / "opencua-like"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps(_OPENCUA_CONFIG), encoding="utf-8")
    # without the opt-in: a ConfigError naming the setting, before transformers is asked
    for spec in (str(ckpt), "xlangai/OpenCUA-7B"):
        with pytest.raises(ConfigError, match="trust_remote_code") as err:
            load_model(spec, device="cpu")
        assert "NATIVE_AGENT_TRUST_REMOTE_CODE" in str(err.value)
    # any checkpoint whose config maps classes to its own code needs it too
    other = tmp_path / "custom"
    other.mkdir()
    (other / "config.json").write_text(
        json.dumps({"model_type": "custom_vl", "auto_map": {"AutoConfig": "c.C"}}), "utf-8"
    )
    with pytest.raises(ConfigError, match="auto_map"):
        load_model(str(other), device="cpu")
    # with it (as the env var sets it): transformers is asked for the remote code and fails
    # on the missing module file, wrapped in a ModelError naming the cause
    settings = resolve_settings({}, {"NATIVE_AGENT_TRUST_REMOTE_CODE": "1"}, None)
    assert settings == {"trust_remote_code": True}
    with pytest.raises(ModelError, match=r"configuration_opencua\.py") as err2:
        load_model(str(ckpt), device="cpu", **settings)
    assert isinstance(err2.value.__cause__, OSError)


# ---- 8. properties: any text is actions on screen or one ParseError ------------------------
# (the shared tests/model/test_parsers_props.py keeps per-format seed tables; these are ours)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.model.test_parsers_props import COMMON, NUMBERS, SETTINGS, check, frames  # noqa: E402

SEEDS = {
    "opencua": [  # cases of a 1920x1080 screen
        OPENCUA_CASES[3]["text"],
        OPENCUA_CASES[7 * 20 + 3]["text"],
        "## Code:\n```python\npyautogui.hotkey('ctrl', 'a')\npyautogui.write(message='x\\n')\n```",
        "```code\ncomputer.terminate(status='success', answer='''42''')\n```",
    ],
    "aguvis": [
        "pyautogui.click(x=0.25, y=0.75)",
        "Action: Swipe\nmobile.swipe(from_coord=[0.5, 0.8], to_coord=[0.5, 0.2])",
        "pyautogui.moveTo(x=0.1, y=0.2)\npyautogui.dragTo(x=0.3, y=0.4)",
    ],
}
PIECES = [
    "```", "```python\n", "pyautogui.", "computer.", "mobile.", "click(", "x=", "y=", "0.5",
    "write(message='", "'", '"', "hotkey(", "[", "]", "__import__", "eval(", "lambda:",
    "f'{x}'", "import os\n", "for i in range(9):\n ", "=", ".", "**", "*", ";",
]  # fmt: skip


@st.composite
def _soup(draw: Any, fmt: str) -> str:
    if draw(st.booleans()):
        text = draw(st.sampled_from(SEEDS[fmt]))
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(text)))
            j = draw(st.integers(i, min(len(text), i + 8)))
            piece = draw(st.one_of(st.sampled_from(PIECES + COMMON), NUMBERS, st.text(max_size=4)))
            text = text[:i] + piece + text[j:]
        return text
    parts = st.one_of(st.sampled_from(PIECES + COMMON), NUMBERS, st.text(max_size=4))
    return "".join(draw(st.lists(parts, max_size=40)))


@pytest.mark.parametrize("fmt", ["opencua", "aguvis"])
@settings(max_examples=600, **SETTINGS)
@given(data=st.data(), frame=frames())
def test_any_text_is_actions_on_screen_or_a_parse_error(fmt: str, data: Any, frame: Any) -> None:
    check(fmt, data.draw(_soup(fmt)), frame)


@pytest.mark.parametrize("fmt", ["opencua", "aguvis"])
def test_the_property_seeds_parse(fmt: str) -> None:
    frame = spec_for(fmt).coords.frame(1920, 1080)
    for text in SEEDS[fmt]:
        assert parse(fmt, text, frame).actions
