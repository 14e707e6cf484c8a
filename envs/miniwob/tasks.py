"""MiniWoB++ tasks, and the adapter that turns their queries into OCR-model instructions.

A :class:`MiniWobTask` is one (task, seed) episode: ``setup`` loads the page fresh, seeds
it and starts it, and reads the instruction from the page's ``#query``; ``evaluate`` reads
the page's own reward (success = the episode is done with raw reward > 0, MiniWoB++'s usual
criterion; the time penalty is not applied, see :mod:`envs.miniwob.env`).

``--model ocr`` follows step-level instructions (:mod:`model.ocr.instructions`), so for the
tasks whose query names its targets in text, :data:`OCR_TASKS` rewrites the query into
such steps. Targets without visible text (an unlabelled text field) are reached the way a
keyboard user would: ``press tab`` focuses the first field. Left out: ``click-dialog`` (its
target "x" is an icon glyph, not text) and ``focus-text-2`` (the target is named by its
position only, and tabbing through the fields focuses — and fails on — the first one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agent.core.env import Env
from agent.core.errors import ConfigError
from agent.core.task import Task, TaskResult


def _q(text: str) -> str:
    """Quote for the instruction language (its quotes cannot be escaped)."""
    if '"' in text:
        raise ConfigError(f"cannot quote {text!r} for the OCR instructions")
    return f'"{text}"'


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern + r"$", re.S)


def _match(pattern: re.Pattern[str], query: str) -> re.Match[str]:
    m = pattern.match(query.strip())
    if m is None:
        raise ConfigError(f"unexpected MiniWoB++ query {query!r}")
    return m


def _click_quoted(pattern: str) -> Callable[[str], str]:
    rx = _rx(pattern)
    return lambda q: f"click {_q(_match(rx, q).group(1))}"


def _fixed(pattern: str, instructions: str) -> Callable[[str], str]:
    rx = _rx(pattern)

    def adapt(q: str) -> str:
        _match(rx, q)
        return instructions

    return adapt


def _items(text: str) -> list[str]:
    """``"a, b and c"`` / ``"a, b"`` → items (a lone ``nothing`` → none)."""
    if text.strip() == "nothing":
        return []
    return [p.strip() for p in re.split(r",\s*|\s+and\s+", text) if p.strip()]


def _select_then_submit(q: str) -> str:
    items = _items(_match(_rx(r"Select (.*) and click Submit\."), q).group(1))
    return "; ".join([*(f"click {_q(i)}" for i in items), 'click "Submit"'])


def _enter_text(q: str) -> str:
    text = _match(_rx(r'Enter "(.*)" into the text field and press Submit\.'), q).group(1)
    return f'press tab; type {_q(text)}; click "Submit"'


def _enter_text_2(q: str) -> str:
    m = _match(_rx(r'Type "(.*)" in all (upper|lower) case letters in the text input and '
                   r"press Submit\."), q)  # fmt: skip
    text = m.group(1).upper() if m.group(2) == "upper" else m.group(1).lower()
    return f'press tab; type {_q(text)}; click "Submit"'


def _login_user(q: str) -> str:
    m = _match(_rx(r'Enter the username "(.*)" and the password "(.*)" into the text fields '
                   r"and press login\."), q)  # fmt: skip
    return (f'type {_q(m.group(1))} into "Username"; type {_q(m.group(2))} into "Password"; '
            'click "Login"')  # fmt: skip


def _enter_password(q: str) -> str:
    pwd = _match(_rx(r'Enter the password "(.*)" into both text fields and press submit\.'), q)
    p = _q(pwd.group(1))
    return f'press tab; type {p}; press tab; type {p}; click "Submit"'


def _click_tab(q: str) -> str:
    n = _match(_rx(r"Click on Tab #(\d)\."), q).group(1)
    return f'click "Tab #{n}"'


# task name → query-to-instructions adapter (the tasks whose queries name their targets)
OCR_TASKS: dict[str, Callable[[str], str]] = {
    "click-button": _click_quoted(r'Click on the "(.*)" button\.'),
    "click-button-sequence": _fixed(
        r"Click button ONE, then click button TWO\.", 'click "ONE"; click "TWO"'
    ),
    "click-checkboxes": _select_then_submit,
    "click-dialog-2": _click_quoted(r'Click the button in the dialog box labeled "(.*)"\.'),
    "click-link": _click_quoted(r'Click on the link "(.*)"\.'),
    "click-option": _select_then_submit,
    "click-tab": _click_tab,
    "click-test-2": _click_quoted(r"Click button (ONE|TWO)\."),
    "enter-password": _enter_password,
    "enter-text": _enter_text,
    "enter-text-2": _enter_text_2,
    "enter-text-dynamic": _enter_text,
    "focus-text": _fixed(r"Focus into the textbox\.", "press tab"),
    "login-user": _login_user,
}


def ocr_instructions(task: str, query: str) -> str:
    """The OCR-model instructions for one MiniWoB++ query (ConfigError if not supported)."""
    try:
        adapter = OCR_TASKS[task]
    except KeyError:
        raise ConfigError(
            f"no OCR instructions for MiniWoB++ task {task!r}; supported: {', '.join(OCR_TASKS)}"
        ) from None
    return adapter(" ".join(query.split()))


class MiniWobTask(Task):
    """One seeded MiniWoB++ episode. ``goal`` is known after ``setup`` (the page makes it)."""

    env_name = "miniwob"

    def __init__(self, name: str, seed: int = 0, *, ocr: bool = False, mode: str = "train"):
        self.name = name
        self.seed = int(seed)
        self.ocr = ocr
        self.mode = mode
        self.id = f"miniwob/{name}"
        self.query: str | None = None
        self.goal = ""

    def setup(self, env: Env) -> None:
        start = getattr(env, "start_episode", None)
        if start is None:
            raise ConfigError(f"MiniWoB++ tasks need the miniwob env, got {env.name!r}")
        self.query = start(self.name, self.seed, self.mode)
        self.goal = ocr_instructions(self.name, self.query) if self.ocr else self.query

    def evaluate(self, env: Env) -> TaskResult:
        state: dict[str, Any] = env.wob_state()  # type: ignore[attr-defined]
        ok = bool(state["done"]) and float(state["raw_reward"]) > 0
        details = {
            "done": state["done"],
            "time_scaled_reward": state["reward"],  # MiniWoB++'s reward with its time penalty
            "reason": state["reason"],
        }
        return TaskResult(success=ok, reward=float(state["raw_reward"]), details=details)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "seed": self.seed, "query": self.query, "goal": self.goal}
