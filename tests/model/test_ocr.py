"""OcrModel: instructions → one JSON action per call, grounded by RapidOCR (no mocks).

Screens are PIL-rendered; every answer goes through the real ``json`` parser. One model
(one RapidOCR instance) serves the module, so each screen is read once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.core.actions import dump_action
from agent.core.errors import ConfigError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.ocr import OcrModel, load_ocr_model, parse_instructions, parse_step
from model.parsers import parse
from model.registry import load_model

Box = tuple[float, float, float, float]


def font(size: int = 18) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def inside(p: Any, box: Box) -> bool:
    return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]


class Screen:
    def __init__(self, w: int = 1024, h: int = 768) -> None:
        self.im = Image.new("RGB", (w, h), "white")
        self.d = ImageDraw.Draw(self.im)
        self.truth: dict[str, Box] = {}

    def text(self, name: str, xy: tuple[int, int], s: str, fill: str = "#222") -> None:
        self.d.text(xy, s, fill=fill, font=font())
        self.truth[name] = tuple(float(v) for v in self.d.textbbox(xy, s, font=font()))  # type: ignore[assignment]

    def button(self, name: str, box: tuple[int, int, int, int], s: str) -> None:
        self.d.rounded_rectangle(box, radius=6, fill="#1a73e8")
        x = (box[0] + box[2] - self.d.textlength(s, font=font())) / 2
        self.d.text((x, (box[1] + box[3]) / 2 - 11), s, fill="white", font=font())
        self.truth[name] = tuple(float(v) for v in box)  # type: ignore[assignment]

    def field(self, name: str, box: tuple[int, int, int, int], placeholder: str = "") -> None:
        self.d.rounded_rectangle(box, radius=4, outline="#b0b0b0", width=1, fill="white")
        if placeholder:
            self.d.text((box[0] + 10, box[1] + 9), placeholder, fill="#999", font=font())
        self.truth[name] = tuple(float(v) for v in box)  # type: ignore[assignment]

    def observation(self) -> Observation:
        return Observation(array=np.asarray(self.im))


def app_screen() -> Screen:
    s = Screen()
    s.button("open", (20, 20, 120, 60), "Open")
    s.button("save", (140, 20, 240, 60), "Save")
    s.button("delete", (260, 20, 380, 60), "Delete")
    s.text("menu", (900, 30), "Menu")
    s.text("username.label", (40, 100), "Username")
    s.field("username", (40, 126, 440, 166))
    s.field("search", (520, 126, 980, 166), placeholder="Search files")
    s.text("report", (40, 220), "report.txt")
    s.text("item3", (40, 270), "Item 3")
    s.text("edit1", (600, 220), "Edit")
    s.text("edit2", (600, 560), "Edit")
    s.text("footer", (40, 700), "Showing 3 of 3 files")
    return s


@pytest.fixture(scope="module")
def model() -> OcrModel:
    return OcrModel(max_scrolls=2)


@pytest.fixture(scope="module")
def app() -> Screen:
    return app_screen()


def ask(
    model: OcrModel,
    task: str,
    obs: Observation,
    history: list[HistoryItem] | None = None,
    feedback: str | None = None,
) -> dict[str, Any]:
    """One call; the answer must parse with the real 'json' parser (screen convention)."""
    frame = obs.frame(convention="screen")
    reply = model.act(ModelRequest(task, obs, frame, list(history or []), feedback))
    parsed = parse(model.format, reply.text, frame)
    assert len(parsed.actions) == 1
    return dump_action(parsed.actions[0])


def done(i: int, action: dict[str, Any], obs: Observation | None = None, error: str | None = None):
    return HistoryItem(i, "{}", action, error, obs)


# ---- the instruction grammar -------------------------------------------------------------


def test_grammar_covers_every_verb() -> None:
    steps = parse_instructions(
        'click "Sign in"; double-click report.txt\nright-click "Item 3"; hover Menu; '
        'type "a;b" into "Search files" and press enter; type hello; press Ctrl+A; '
        "scroll up 3; scroll; wait 2; go to http://127.0.0.1/x; click Edit #2; Done"
    )
    got = [(s.verb, s.target, s.text) for s in steps]
    assert got == [
        ("click", "Sign in", None),
        ("double_click", "report.txt", None),
        ("right_click", "Item 3", None),
        ("hover", "Menu", None),
        ("type", "Search files", "a;b"),
        ("type", None, "hello"),
        ("key", None, None),
        ("scroll", None, None),
        ("scroll", None, None),
        ("wait", None, None),
        ("navigate", None, None),
        ("click", "Edit", None),
        ("finish", None, None),
    ]
    assert steps[4].enter and not steps[5].enter
    assert steps[6].keys == "ctrl+a"
    assert (steps[7].direction, steps[7].amount) == ("up", 3)
    assert (steps[8].direction, steps[8].amount) == ("down", None)
    assert steps[9].seconds == 2.0 and steps[10].url == "http://127.0.0.1/x"
    assert steps[11].nth == 2


def test_grammar_quotes_and_errors() -> None:
    assert parse_step('CLICK the "Save" button').target == "Save"
    assert parse_step("Tap on “Sign in”").target == "Sign in"
    s = parse_step("type Ada Lovelace into Display name then press enter")
    assert (s.text, s.target, s.enter) == ("Ada Lovelace", "Display name", True)
    assert parse_step('type "go into it" into Notes').text == "go into it"
    with pytest.raises(ConfigError, match="more than once"):
        parse_step("type go into it into Notes")
    with pytest.raises(ConfigError, match="cannot read"):
        parse_step("fly to the moon")
    with pytest.raises(ConfigError):
        parse_instructions(" ; \n ")


# ---- one action per verb -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "kind", "where"),
    [
        ('click "Save"', "click", "save"),
        ("click delete", "click", "delete"),
        ('double-click "report.txt"', "double_click", "report"),
        ('right-click "Item 3"', "right_click", "item3"),
        ("hover Menu", "hover", "menu"),
    ],
)
def test_pointer_verbs(model: OcrModel, app: Screen, task: str, kind: str, where: str) -> None:
    a = ask(model, task, app.observation())
    assert a["type"] == kind
    assert inside(a["point"], app.truth[where]), (a, app.truth[where])
    assert len(a["box"]) == 4 and a["target"] == parse_step(task).target


def test_type_into_labelled_field_and_placeholder(model: OcrModel, app: Screen) -> None:
    a = ask(model, 'type "alice" into "Username"', app.observation())
    assert a["type"] == "type" and a["text"] == "alice" and a["clear"] is True
    assert inside(a["point"], app.truth["username"]) and not a.get("enter")
    b = ask(model, "type report into Search files and press enter", app.observation())
    assert inside(b["point"], app.truth["search"]) and b["enter"] is True


def test_ungrounded_verbs(model: OcrModel, app: Screen) -> None:
    obs = app.observation()
    assert ask(model, 'type "hi"', obs) == {"type": "type", "text": "hi", "clear": False,
                                            "enter": False}  # fmt: skip
    assert ask(model, "press ctrl+a", obs) == {"type": "key", "keys": "ctrl+a"}
    assert ask(model, "scroll up 3", obs) == {"type": "scroll", "direction": "up", "amount": 3}
    assert ask(model, "wait 2", obs) == {"type": "wait", "seconds": 2.0}
    assert ask(model, "go to http://127.0.0.1:9/x", obs) == {
        "type": "navigate",
        "url": "http://127.0.0.1:9/x",
    }
    assert ask(model, 'finish "42"', obs) == {"type": "finish", "status": "success",
                                              "answer": "42"}  # fmt: skip


# ---- the cursor: history decides the next step --------------------------------------------


def test_multi_step_advances_with_history(model: OcrModel, app: Screen) -> None:
    obs = app.observation()
    task = 'click "Open"\ntype "bob" into "Username"; press enter'
    h: list[HistoryItem] = []
    a1 = ask(model, task, obs, h)
    assert a1["type"] == "click" and inside(a1["point"], app.truth["open"])
    h.append(done(0, a1, obs))
    a2 = ask(model, task, obs, h)
    assert a2["type"] == "type" and inside(a2["point"], app.truth["username"])
    h.append(done(1, a2, obs, error="ActionFailedError: element detached"))
    assert ask(model, task, obs, h)["type"] == "type"  # a failed action does not advance
    h.append(done(2, a2, obs))
    assert ask(model, task, obs, h) == {"type": "key", "keys": "enter"}
    h.append(done(3, {"type": "key", "keys": "enter"}, obs))
    assert ask(model, task, obs, h) == {"type": "finish", "status": "success"}


def test_truncated_window_resumes_from_marker(app: Screen) -> None:
    fresh = OcrModel(grounder=None, max_scrolls=0)  # no notes of earlier calls
    obs = app.observation()
    task = "press tab; press tab; press enter"
    raw = '{"thought": "step 2/3 (press tab)", "action": {"type": "key", "keys": "tab"}}'
    window = [HistoryItem(7, raw, {"type": "key", "keys": "tab"}, None, None)]
    assert ask(fresh, task, obs, window) == {"type": "key", "keys": "enter"}


def test_repeated_failures_end_in_call_user(model: OcrModel, app: Screen) -> None:
    obs = app.observation()
    err = "ActionFailedError: nothing happened"
    h = [done(i, {"type": "key", "keys": "f5"}, obs, error=err) for i in range(2)]
    a = ask(model, "press f5", obs, h)
    assert a["type"] == "call_user" and "failed 2 times" in a["question"]


# ---- ambiguity and missing targets never click -------------------------------------------


def test_ambiguous_target_asks_the_user(model: OcrModel, app: Screen) -> None:
    a = ask(model, 'click "Edit"', app.observation())
    assert a["type"] == "call_user"
    assert "ambiguous" in a["question"] and a["question"].count('"Edit" at') == 2
    second = ask(model, 'click "Edit" #2', app.observation())
    assert second["type"] == "click" and inside(second["point"], app.truth["edit2"])


def test_nearness_resolves_duplicates(model: OcrModel, app: Screen) -> None:
    obs = app.observation()
    prev = {"type": "click", "point": [610.0, 540.0], "target": "x"}
    a = ask(model, 'click "x"; click "Edit"', obs, [done(0, prev, obs)])
    assert a["type"] == "click" and inside(a["point"], app.truth["edit2"])


def test_missing_target_waits_scrolls_then_asks(model: OcrModel, app: Screen) -> None:
    obs = app.observation()
    task = 'click "Export as PDF"'
    wait = ask(model, task, obs)
    assert wait == {"type": "wait", "seconds": 1.0}  # the screen may still be loading
    h = [done(0, wait, obs)]
    scroll = ask(model, task, obs, h)
    assert scroll == {"type": "scroll", "direction": "down", "amount": 5}
    # the scroll left the screen unchanged: the page cannot scroll, so ask at once
    stuck = ask(model, task, obs, [*h, done(1, scroll, obs)])
    assert stuck["type"] == "call_user"
    assert stuck["question"].startswith('could not find "Export as PDF"')
    # the screen changes but the target never shows: max_scrolls (2) searches, then ask
    other = Screen()
    other.text("x", (40, 40), "Nothing to see here")
    obs2 = other.observation()
    assert ask(model, task, obs2, [*h, done(1, scroll, obs)]) == scroll  # changed: again
    h += [done(1, scroll, obs), done(2, scroll, obs2)]
    final = ask(model, task, obs, h)
    assert final["type"] == "call_user" and "after scrolling 2 times" in final["question"]
    assert all(a["type"] != "click" for a in (wait, scroll, stuck, final))


def test_feedback_and_bad_instructions_end_in_call_user(model: OcrModel, app: Screen) -> None:
    obs = app.observation()
    a = ask(model, 'click "Save"', obs, feedback="Your last actions did not change the screen.")
    assert a["type"] == "call_user" and "did not change" in a["question"]
    b = ask(model, "fly to the moon", obs)
    assert b["type"] == "call_user" and "cannot read" in b["question"]


# ---- loading -----------------------------------------------------------------------------


def test_registry_and_settings() -> None:
    m = load_model("ocr:max_scrolls=1,fuzzy=0.9")
    assert isinstance(m, OcrModel) and m.max_scrolls == 1
    assert m.grounder.fuzzy == 0.9  # type: ignore[attr-defined]
    assert m.format == "json" and m.convention == "screen"
    assert m.describe()["ocr"]["Det.limit_type"] == "min"
    with pytest.raises(ConfigError, match="unknown ocr model settings"):
        load_ocr_model("speed=11")
    with pytest.raises(ConfigError):
        load_ocr_model("max_scrolls=many")


def test_close_waits_for_the_warm_up() -> None:
    """A model closed while its ONNX sessions still load in the warm-up thread waits for
    them: a process exiting meanwhile aborts instead of returning its own status."""
    model = OcrModel(max_scrolls=0)
    warm = model._engine._warm  # started by the constructor
    assert warm is not None
    model.close()
    assert not warm.is_alive()
