"""The MiniWoB++ suite: pages of the miniwob package served on 127.0.0.1 to headless
Chromium, episodes seeded and scored by the pages' own JavaScript, the query→OCR
instruction adapter, and one real OCR episode through ``agent bench``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.core.actions import Click, Finish
from agent.core.errors import ConfigError
from envs.browser.dom import rect_to_screen
from envs.miniwob import OCR_TASKS, MiniWobEnv, MiniWobTask, html_dir, ocr_instructions
from model.ocr.instructions import parse_instructions

QUERIES = {
    "click-button": ('Click on the "okay" button.', 'click "okay"'),
    "click-button-sequence": (
        "Click button ONE, then click button TWO.",
        'click "ONE"; click "TWO"',
    ),
    "click-checkboxes": (
        "Select kQ, 9fyVx and click Submit.",
        'click "kQ"; click "9fyVx"; click "Submit"',
    ),
    "click-dialog-2": ('Click the button in the dialog box labeled "Cancel".', 'click "Cancel"'),
    "click-link": ('Click on the link "nam".', 'click "nam"'),
    "click-option": ("Select Ab and click Submit.", 'click "Ab"; click "Submit"'),
    "click-tab": ("Click on Tab #2.", 'click "Tab #2"'),
    "click-test-2": ("Click button TWO.", 'click "TWO"'),
    "enter-password": (
        'Enter the password "x7" into both text fields and press submit.',
        'press tab; type "x7"; press tab; type "x7"; click "Submit"',
    ),
    "enter-text": (
        'Enter "Kasie" into the text field and press Submit.',
        'press tab; type "Kasie"; click "Submit"',
    ),
    "enter-text-2": (
        'Type "Nathalie" in all upper case letters in the text input and press Submit.',
        'press tab; type "NATHALIE"; click "Submit"',
    ),
    "enter-text-dynamic": (
        'Enter "a1b" into the text field and press Submit.',
        'press tab; type "a1b"; click "Submit"',
    ),
    "focus-text": ("Focus into the textbox.", "press tab"),
    "login-user": (
        'Enter the username "lyda" and the password "Ew" into the text fields and press login.',
        'type "lyda" into "Username"; type "Ew" into "Password"; click "Login"',
    ),
}


def test_adapter_covers_every_listed_task() -> None:
    assert set(QUERIES) == set(OCR_TASKS)
    for task, (query, expected) in QUERIES.items():
        out = ocr_instructions(task, query)
        assert out == expected, task
        parse_instructions(out)  # the OCR model can read it
    assert ocr_instructions("click-checkboxes", "Select nothing and click Submit.") == (
        'click "Submit"'
    )
    with pytest.raises(ConfigError):
        ocr_instructions("click-button", "Drag the circle.")
    with pytest.raises(ConfigError):
        ocr_instructions("draw-circle", "Draw a circle.")
    for task in OCR_TASKS:
        assert (html_dir() / "miniwob" / f"{task}.html").is_file()


@pytest.fixture(scope="module")
def env():
    e = MiniWobEnv()
    yield e
    e.close()


def _center(env: MiniWobEnv, selector: str) -> tuple[float, float]:
    js = "(e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom] }"
    rect = env.page.locator(selector).first.evaluate(js)
    return rect_to_screen(env.geometry(), tuple(rect))[1]


def test_seeded_episode_and_page_reward(env: MiniWobEnv) -> None:
    task = MiniWobTask("click-test-2", seed=3)
    task.setup(env)
    first = task.query
    assert first in ("Click button ONE.", "Click button TWO.")
    assert task.goal == first  # not OCR: the query itself
    obs = env.observe()
    assert obs.size == (320, 420) and obs.scale == 2.0  # 160x210 CSS px at DSF 2
    again = MiniWobTask("click-test-2", seed=3)
    again.setup(env)
    assert again.query == first  # the seed fixes the problem
    assert not again.evaluate(env).success  # nothing done yet
    target = "#subbtn" if first.endswith("ONE.") else "#subbtn2"
    res = env.step(Click(point=_center(env, target)))
    assert res.terminated and res.reward == 1.0 and res.info["miniwob"]["done"]
    ev = again.evaluate(env)
    assert ev.success and ev.reward == 1.0


def test_wrong_click_fails(env: MiniWobEnv) -> None:
    task = MiniWobTask("click-test-2", seed=3)
    task.setup(env)
    wrong = "#subbtn2" if task.query.endswith("ONE.") else "#subbtn"
    res = env.step(Click(point=_center(env, wrong)))
    assert res.terminated and res.reward == -1.0
    assert not task.evaluate(env).success
    assert env.step(Finish()).terminated


def test_task_needs_the_miniwob_env() -> None:
    from board_env import BoardEnv

    with pytest.raises(ConfigError, match="miniwob env"):
        MiniWobTask("click-test-2", ocr=True).setup(BoardEnv())


@pytest.mark.browser
def test_bench_miniwob_with_the_ocr_model(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench"
    args = ["bench", "--suite", "miniwob", "--model", "ocr", "--tasks", "click-test-2"]
    assert main([*args, "--seeds", "1", "--out", str(out), "--no-progress"]) == 0
    data = json.loads((out / "results.json").read_text())
    (r,) = data["results"]
    assert r["success"] and r["reward"] == 1.0, r
    meta = json.loads((out / r["episode"] / "episode.json").read_text())
    assert meta["task"]["query"] in ("Click button ONE.", "Click button TWO.")
    assert meta["task"]["goal"] == ocr_instructions("click-test-2", meta["task"]["query"])
    assert meta["env"]["name"] == "miniwob" and meta["env"]["spec"]["dsf"] == 2.0
    assert "| click-test-2 | 1 | 1 | 100.0% |" in capsys.readouterr().out
