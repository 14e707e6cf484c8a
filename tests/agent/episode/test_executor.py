"""One action executor: the same action, run once by the agent's loop (scripted model) and
once by an externally driven episode (the Gymnasium env's ActionSession), on real headless
Chromium, leaves step lines of the same shape and the same recorded action."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.actions import Action
from agent.core.env import Env
from agent.core.observation import Observation
from agent.episode.recording import load_episode
from agent.episode.runner import run
from agent.episode.steps import PHASES
from agent.interfaces.gym import NativeAgentEnv
from agent.safety.gate import AllowAll, Decision
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel

PAGE = """<!doctype html><title>executor</title>
<body style="margin: 0; font: 16px sans-serif">
<button id="ok" style="position: absolute; left: 40px; top: 40px; width: 120px; height: 40px"
        onclick="document.title = 'clicked'">OK</button>
<button id="pay" style="position: absolute; left: 400px; top: 40px; width: 120px; height: 40px"
        >Pay now</button>
</body>"""

OK = [100, 60]
PAY = [460, 60]


class DenyRightHalf:
    """Denies any action at a point right of x = 300 (the Pay button)."""

    def check(self, action: Action, env: Env, obs: Observation) -> Decision:
        point = getattr(action, "point", None)
        if point is not None and point[0] > 300:
            return Decision("deny", "test", "right half is off limits", rule="right-half")
        return Decision("allow")


class Broken:
    """A gate that raises: the executor denies (fail closed)."""

    def check(self, action: Action, env: Env, obs: Observation) -> Decision:
        raise RuntimeError("policy store unreachable")


# (name, the action, the gate)
CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("click", {"type": "click", "point": OK}, AllowAll()),
    ("denied", {"type": "click", "point": PAY}, DenyRightHalf()),
    ("gate-error", {"type": "click", "point": OK}, Broken()),
    ("failed", {"type": "navigate", "url": "http://127.0.0.1:9/"}, AllowAll()),
    ("secret", {"type": "type", "text": "{{secret:nope}}"}, AllowAll()),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserEnv]:
    env = BrowserEnv()
    try:
        yield env
    finally:
        env.close()


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("executor") / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    return path.as_uri()


def loop_line(env: BrowserEnv, url: str, action: dict[str, Any], gate: Any, out: Path) -> dict:
    finish = '{"type": "finish", "status": "success", "answer": "done"}'
    model = ScriptedModel([json.dumps(action), finish])
    ep = run("press a button", env=env, model=model, out=out, url=url, gate=gate)
    return ep.steps[0]


def session_line(env: BrowserEnv, url: str, action: dict[str, Any], gate: Any, out: Path) -> dict:
    gym = NativeAgentEnv(env, "press a button", gate=gate, url=url, record_dir=out)
    gym.reset()
    directory = gym.episode_dir
    assert directory is not None
    gym.step(json.dumps(action))
    gym.session.end("closed")  # keeps the browser (module fixture) open
    return load_episode(directory).steps[0]


@pytest.mark.parametrize(("name", "action", "gate"), CASES, ids=[c[0] for c in CASES])
def test_loop_and_session_record_the_same_action(
    browser: BrowserEnv,
    page_url: str,
    tmp_path: Path,
    name: str,
    action: dict[str, Any],
    gate: Any,
) -> None:
    looped = loop_line(browser, page_url, action, gate, tmp_path / "loop")
    driven = session_line(browser, page_url, action, gate, tmp_path / "gym")
    assert set(looped) == set(driven), set(looped) ^ set(driven)
    assert set(looped["timings"]) == set(driven["timings"]) >= {*PHASES, "step_s"}
    assert len(looped["actions"]) == len(driven["actions"]) == 1
    a, b = looped["actions"][0], driven["actions"][0]
    assert set(a) == set(b), set(a) ^ set(b)
    for key in ("action", "input", "gate", "result", "error", "error_code"):
        assert a.get(key) == b.get(key), key
    assert looped["observation"]["last_action_error"] == driven["observation"]["last_action_error"]
    expected = {
        "click": (None, None),
        "denied": ("denied", "deny"),
        "gate-error": ("denied", "deny"),
        "failed": (None, "allow"),
        "secret": ("action_failed", "allow"),
    }[name]
    assert a.get("error_code") == expected[0]
    if name == "click":
        assert a["result"] == {"terminated": False, "truncated": False}
    if name == "failed":  # it ran and failed: the env's error, with its stable code
        assert a["result"]["error_code"] == "action_failed" and a["result"]["error"]
    if name == "gate-error":
        assert a["gate"]["policy"] == "gate-error" and "RuntimeError" in a["gate"]["reason"]
    if expected[1] == "deny":
        assert "result" not in a and a["error"].startswith("ActionDeniedError: denied by")
