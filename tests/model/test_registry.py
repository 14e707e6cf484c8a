"""Registry-wide checks: every model family in every action space it has, and every dialect.

Nothing here names a family: the loops read :data:`model.profiles.PROFILES` and
:data:`model.parsers.FORMATS`, so a family or dialect added later is checked the day it lands.
Per family: the conversation builds and states the screen in the dialect's own space; a click
rendered exactly lands on the same screenshot pixel (calibration: 0 px) in pad and resize
mode; the integer rendering comes back within the dialect's quantum (export round trip); the
early-stop check fires on the whole action and not on a prefix; stop strings keep the action;
a constrained-decoding grammar exists or asking for one is a ConfigError; ``agent parse
--model-family NAME --action-space SPACE`` reads it.
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

from agent.cli import main as cli
from agent.core.actions import Click
from agent.core.coords import Frame, model_to_screen
from agent.core.errors import ConfigError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from agent.export.render import render, same_action, tolerance
from model.backends.constrain import structured_outputs
from model.backends.stopping import cut_at_stop
from model.parsers import FORMATS, parse, spec_for
from model.profiles import PROFILES, Profile, detect_profile
from model.prompts import messages
from model.prompts.messages import build_messages, describe
from model.prompts.opening import Opening, PromptInput

SCREENS = ((1920, 1080), (1080, 2400), (3840, 2160), (1366, 768))
CASES = [(name, space) for name, p in PROFILES.items() for space in p.action_spaces]


def _points(w: int, h: int) -> list[tuple[float, float]]:
    return [(0.0, 0.0), (w - 1.0, h - 1.0), (w / 3, h / 7), (w * 0.71, h * 0.43), (17.0, h - 9.0)]


def _frame(p: Profile, space: str, w: int, h: int, mode: str | None = None) -> Frame:
    return p.frame(w, h, action_space=space, mode=mode)  # type: ignore[arg-type]


@pytest.mark.parametrize(("family", "space"), CASES)
def test_family_parses_its_own_exact_clicks_to_the_pixel(family: str, space: str) -> None:
    """Calibration in the family's space: 0 px (exact rendering), pad and resize mode."""
    p = PROFILES[family]
    fmt = p.format_for(space)
    for w, h in SCREENS:
        for mode in ("pad", "resize"):
            frame = _frame(p, space, w, h, mode)
            for pt in _points(w, h):
                text = render([Click(point=pt, target="x")], frame, fmt, precise=True)
                got = parse(fmt, text, frame).actions
                assert len(got) == 1 and isinstance(got[0], Click), (family, space, text)
                err = max(abs(got[0].point[0] - pt[0]), abs(got[0].point[1] - pt[1]))
                assert err < 1e-3, (family, space, w, h, mode, pt, text, got[0].point)


@pytest.mark.parametrize(("family", "space"), CASES)
def test_family_round_trips_integer_clicks_within_its_quantum(family: str, space: str) -> None:
    """The export round trip: what the model would write comes back within half a unit."""
    p = PROFILES[family]
    fmt = p.format_for(space)
    for w, h in SCREENS:
        frame = _frame(p, space, w, h)
        for pt in _points(w, h):
            click = Click(point=pt)
            text = render([click], frame, fmt)
            back = parse(fmt, text, frame).actions
            assert same_action([click], back, fmt, tolerance(frame)) is None, (family, text)


@pytest.mark.parametrize(("family", "space"), CASES)
def test_family_stops_early_at_the_end_of_its_action_and_not_before(
    family: str, space: str
) -> None:
    p = PROFILES[family]
    dialect = spec_for(p.format_for(space))
    frame = _frame(p, space, 1920, 1080)
    text = render([Click(point=(640.0, 360.0))], frame, dialect.name)
    assert dialect.complete(text), (family, text)
    digit = next(i for i, c in enumerate(text) if c.isdigit())
    assert not dialect.complete(text[:digit]), (family, text[:digit])
    if dialect.stop:  # a server cutting at the stop string keeps the whole action
        cut, hit = cut_at_stop(text + dialect.stop[0] + "\ntrailing", list(dialect.stop), True)
        assert (
            hit
            and parse(dialect.name, cut, frame).actions == parse(dialect.name, text, frame).actions
        )


@pytest.mark.parametrize(("family", "space"), CASES)
def test_family_prompt_builds_and_states_the_dialects_screen(family: str, space: str) -> None:
    p = PROFILES[family]
    dialect = spec_for(p.format_for(space))
    obs = Observation(array=np.zeros((1080, 1920, 3), np.uint8))
    frame = _frame(p, space, 1920, 1080)
    msgs = build_messages(ModelRequest("open the settings", obs, frame), p, action_space=space)
    text = describe(msgs)
    assert "open the settings" in text
    assert text.count("<image ") == 1
    text = re.sub(r"<image \d+x\d+>", "<image>", text)
    w, h = dialect.coords.prompt_size(frame)
    stated = [f"{w}x{h}", f"{w} x {h}", f"{w}×{h}"]
    # a prompt that states a screen size states the dialect's, never another space's
    for other in ("1000x1000", "999x999", "1920x1080", f"{frame.input_w}x{frame.input_h}"):
        if other in text and other not in stated:
            pytest.fail(f"{family}/{space} states {other}, its space is {w}x{h}")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_dialect_grammar_exists_or_constraining_it_is_a_config_error(fmt: str) -> None:
    dialect = FORMATS[fmt]
    frame = Frame.for_screen(1920, 1080, convention=dialect.convention, factor=dialect.factor)
    if dialect.grammar is None:
        with pytest.raises(ConfigError, match="constrained output"):
            structured_outputs(fmt, frame)
    else:
        schema = structured_outputs(fmt, frame)["json"]
        assert isinstance(schema, dict) and schema


@pytest.mark.parametrize(("family", "space"), CASES)
def test_agent_parse_reads_every_family_and_action_space(family: str, space: str) -> None:
    p = PROFILES[family]
    frame = _frame(p, space, 1280, 800)
    text = render([Click(point=(300.0, 200.0))], frame, p.format_for(space))
    out = io.StringIO()
    with redirect_stdout(out):
        rc = cli(
            ["parse", "--model-family", family, "--action-space", space, "--screen", "1280x800",
             text]
        )  # fmt: skip
    assert rc == 0
    (action,) = json.loads(out.getvalue())
    assert action["type"] == "click"
    assert max(abs(action["point"][0] - 300), abs(action["point"][1] - 200)) <= tolerance(frame)


def test_a_test_only_family_on_an_existing_dialect_is_one_profile_and_one_prompt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """Adding a family on an existing dialect: one Profile entry and one prompt (here a
    builder over a prompt file); detection, the conversation, the frame and parsing follow."""
    prompt_file = tmp_path / "probe.txt"  # type: ignore[operator]
    prompt_file.write_text("Probe agent. Screen {w}x{h}. Task: {task}\n", encoding="utf-8")

    def probe(p: PromptInput) -> Opening:
        tpl = prompt_file.read_text(encoding="utf-8")
        return Opening(None, tpl.format(w=p.size[0], h=p.size[1], task=p.task))

    family = Profile("probe-vl", "test-only", "qwen3-vl-mobile", "probe", (r"probe-?vl",),
                     patch=16)  # fmt: skip
    monkeypatch.setitem(PROFILES, family.name, family)
    monkeypatch.setitem(messages.PROMPTS, "probe", probe)

    assert detect_profile("acme/Probe-VL-3B") is family
    obs = Observation(array=np.zeros((2400, 1080, 3), np.uint8))
    frame = family.frame(1080, 2400)
    assert (frame.convention, frame.factor, frame.input_w) == ("norm999", 32, 1088)
    text = describe(build_messages(ModelRequest("find wifi", obs, frame), family))
    assert "Probe agent. Screen 999x999. Task: find wifi" in text
    rendered = render([Click(point=(540.0, 1200.0))], frame, family.format, precise=True)
    out = parse(family.format, rendered, frame)
    x, y = out.actions[0].point  # type: ignore[union-attr]
    assert (round(x), round(y)) == (540, 1200)


def test_divisor_is_data_a_999_space_and_a_1000_space_differ_by_the_right_amount() -> None:
    """The same number under two divisors: x/999 vs x/1000 of the same input (coords only)."""
    f999 = Frame.for_screen(1000, 1000, convention="norm999")
    f1000 = Frame.for_screen(1000, 1000, convention="norm1000", divisor=999.0)
    f_plain = Frame.for_screen(1000, 1000, convention="norm1000")
    assert model_to_screen(f999, 999, 999) == model_to_screen(f1000, 999, 999)
    assert model_to_screen(f_plain, 999, 999)[0] < model_to_screen(f999, 999, 999)[0]


@pytest.mark.parametrize("family", list(PROFILES))
def test_a_served_family_plans_frames_within_its_authors_pixel_budget(family: str) -> None:
    """The OpenAI-compatible backend (vLLM, SGLang, ``agent serve``) plans each screenshot
    under the family's own budget unless ``max_image_tokens`` says otherwise."""
    from model.backends.openai_backend import OpenAIModel

    p = PROFILES[family]
    m = OpenAIModel("served-model", "http://127.0.0.1:9/v1", family=family)
    try:
        assert m.max_tokens == p.max_tokens
        mode = "resize" if m.input_mode == "resize" else "pad"
        frame = p.frame(3840, 2160, mode=mode)  # type: ignore[arg-type]
        assert frame.tokens <= p.max_tokens
    finally:
        m.close()
    capped = OpenAIModel("m", "http://127.0.0.1:9/v1", family=family, max_image_tokens=99)
    assert capped.max_tokens == 99
    capped.close()


@pytest.mark.parametrize("family", list(PROFILES))
def test_a_served_family_keeps_its_authors_history_window(family: str) -> None:
    """Each family's requests hold the history its authors send (e.g. GELab-Zero and
    UI-Venus-1.5 only the current screenshot, GUI-Owl-1.5 four past ones, grounders none);
    the settings override it."""
    from model.backends.openai_backend import OpenAIModel

    p = PROFILES[family]
    steps, images = p.history(None, None)
    m = OpenAIModel("served-model", "http://127.0.0.1:9/v1", family=family)
    mine = OpenAIModel("m", "http://127.0.0.1:9/v1", family=family, history_images=1)
    try:
        assert (m.history_steps, m.history_images) == (steps, images)
        assert (mine.history_steps, mine.history_images) == (steps, 1)
    finally:
        m.close()
        mine.close()
    obs = Observation(array=np.zeros((720, 1280, 3), np.uint8))
    frame = p.frame(1280, 720)
    past = [
        HistoryItem(i, render([Click(point=(10.0 + i, 20.0))], frame, p.format), observation=obs)
        for i in range(6)
    ]
    request = ModelRequest("open the settings", obs, frame, past)
    text = describe(build_messages(request, p, history_images=images, history_steps=steps))
    assert text.count("<image ") == 1 + min(images, steps, len(past)), family


def test_the_authors_history_windows_are_data() -> None:
    """The profiles that state a window (the others take the backend default: 20 and 2)."""
    windows = {n: p.history(None, None) for n, p in PROFILES.items()}
    assert windows["gelab-zero"][1] == 0 and windows["ui-venus-1.5"] == (5, 0)
    assert windows["gui-owl-1.5"][1] == 4 and windows["uground"][0] == 0
    assert windows["qwen2.5-vl"] == (20, 2)
