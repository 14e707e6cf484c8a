"""Gymnasium interface, checked by Gymnasium's own ``check_env`` through ``gymnasium.make``:
a real headless Chromium (bundled site, MiniWoB++ page), a real Xvfb with the Tk fixture app,
and a third-party env found through a real ``native_agent.envs`` entry point."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agent.episode.recording import load_episode
from agent.interfaces.gym import env_id, register_envs
from envs.browser.dom import rect_to_screen

TK_APP = Path(__file__).parents[2] / "envs" / "fixtures" / "tk_app.py"


def _center(env: Any, selector: str) -> tuple[float, float]:
    js = "(e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom] }"
    rect = env.page.locator(selector).first.evaluate(js)
    return rect_to_screen(env.geometry(), tuple(rect))[1]


def test_every_registry_env_is_registered() -> None:
    ids = register_envs()
    for name in ("browser", "desktop", "android", "miniwob"):
        assert env_id(name) in ids and env_id(name) in gymnasium.registry


def test_entry_point_env_is_registered_and_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin installed the ordinary way (a dist-info with entry_points.txt on sys.path)."""
    dist = tmp_path / "site" / "board_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: board-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[native_agent.envs]\nboard = board_env:BoardEnv\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert env_id("board") in register_envs()
    env = gymnasium.make(env_id("board"), task="click OK", record_dir=tmp_path / "runs")
    try:
        check_env(env.unwrapped)
        obs, _ = env.reset(seed=1)
        assert obs["screenshot"].shape == env.observation_space["screenshot"].shape
        assert obs["goal"] == "click OK"
    finally:
        env.close()
        gymnasium.registry.pop(env_id("board"), None)


@pytest.mark.browser
def test_check_env_browser(tmp_path: Path) -> None:
    env = gymnasium.make(
        env_id("browser"), site="account", viewport=(640, 400), record_dir=tmp_path, max_steps=5
    )
    try:
        check_env(env.unwrapped)
        obs, _ = env.reset(seed=0)
        assert obs["screenshot"].shape == (400, 640, 3) and obs["screenshot"].dtype == np.uint8
        assert obs["url"].startswith("http://127.0.0.1:") and obs in env.observation_space
        assert env.unwrapped.render_mode is None and env.render() is None
    finally:
        env.close()
    episodes = [load_episode(d) for d in tmp_path.iterdir() if (d / "episode.json").exists()]
    assert episodes and all(e.meta["interface"] == "gymnasium" for e in episodes)
    specs = [e.meta["env"]["spec"] for e in episodes]  # each records the env it ran in
    assert all(s["viewport"] == [640, 400] and s["site"] == "account" for s in specs)


@pytest.fixture(scope="module")
def xvfb() -> Iterator[Any]:
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.fail("Xvfb and xdotool are needed: apt-get install xvfb xdotool (make install does)")
    from envs.desktop import Xvfb

    with Xvfb(1024, 700) as x:
        yield x


def test_check_env_desktop(xvfb: Any, tmp_path: Path) -> None:
    app = [sys.executable, str(TK_APP), str(tmp_path / "events.jsonl")]
    env = gymnasium.make(
        env_id("desktop"), display=xvfb.display, app=app, record_dir=tmp_path / "runs"
    )
    try:
        check_env(env.unwrapped)
        obs, _ = env.reset(seed=0)
        assert obs["screenshot"].shape == (700, 1024, 3)
        assert obs["screenshot"].any()  # the Tk window is on screen
    finally:
        env.close()


@pytest.mark.browser
def test_check_env_miniwob(tmp_path: Path) -> None:
    env = gymnasium.make(
        env_id("miniwob"), task="miniwob/click-test-2", record_dir=tmp_path, render_mode="rgb_array"
    )
    try:
        check_env(env.unwrapped)
        obs, _ = env.reset(seed=3)
        assert obs["screenshot"].shape == (420, 320, 3)  # 160x210 CSS px at DSF 2
        assert np.array_equal(env.render(), obs["screenshot"])
    finally:
        env.close()


@pytest.mark.browser
def test_play_miniwob_through_make(tmp_path: Path) -> None:
    env = gymnasium.make(env_id("miniwob"), task="miniwob/click-test-2", record_dir=tmp_path)
    try:
        obs, info = env.reset(seed=3)
        assert obs["goal"] in ("Click button ONE.", "Click button TWO.")
        assert info["task_id"] == "miniwob/click-test-2"
        # a malformed action is an observation, not a crash, and costs a step
        obs, reward, terminated, truncated, info = env.step('{"type": "clik"}')
        assert "not a valid action" in obs["last_action_error"] and not terminated
        native = env.unwrapped.native
        target = "#subbtn" if obs["goal"].endswith("ONE.") else "#subbtn2"
        x, y = _center(native, target)
        obs, reward, terminated, truncated, info = env.step(
            json.dumps({"type": "click", "point": [x, y]})
        )
        assert terminated and not truncated and reward == 1.0 and info["success"]
        episode_dir = next(d for d in tmp_path.iterdir() if d.is_dir())
        with pytest.raises(Exception, match="reset"):
            env.step('{"type": "wait"}')  # the episode ended
    finally:
        env.close()
    ep = load_episode(episode_dir)
    assert ep.outcome["status"] == "success" and ep.outcome["evaluation"]["reward"] == 1.0
    assert "tag 'clik'" in ep.steps[0]["error"] and not ep.steps[0]["actions"]
    assert ep.steps[1]["actions"][0]["action"]["point"] == [x, y]
    assert ep.steps[1]["actions"][0]["gate"]["verdict"] == "allow"
    assert (episode_dir / "0000.png").exists() and (episode_dir / "0001.png").exists()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """``serve(name, html)`` → the page's URL on a real HTTP server on 127.0.0.1 (the default
    policy refuses file: pages)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def page(name: str, html: str) -> str:
        (root / name).write_text(html)
        return f"http://127.0.0.1:{httpd.server_address[1]}/{name}"

    yield page
    httpd.shutdown()
    httpd.server_close()


PAY_PAGE = """<!doctype html><body style="margin:0">
<button id="pay" style="position:absolute;left:40px;top:40px;width:200px;height:60px"
 onclick="document.title='PAID'">Pay now $420</button>
<button id="ok" style="position:absolute;left:40px;top:160px;width:200px;height:60px"
 onclick="document.title='OK'">Continue</button></body>"""


@pytest.mark.browser
def test_gate_denies_and_budget_truncates(tmp_path: Path, serve: Any) -> None:
    env = gymnasium.make(
        env_id("browser"),
        url=serve("pay.html", PAY_PAGE),
        task="pay the bill",
        viewport=(400, 300),
        record_dir=tmp_path / "runs",
        max_steps=2,
    )
    try:
        env.reset()
        obs, reward, term, trunc, info = env.step({"type": "click", "point": [140, 70]})
        assert reward == 0.0
        assert info["gate"]["verdict"] == "deny" and "denied" in obs["last_action_error"]
        assert env.unwrapped.native.page.title() != "PAID"  # never executed
        assert not term and not trunc
        obs, _, term, trunc, info = env.step({"type": "click", "point": [140, 190]})
        assert env.unwrapped.native.page.title() == "OK"
        assert trunc and not term and "max_steps" in info["budget"]
    finally:
        env.close()
    (ep_dir,) = (tmp_path / "runs").iterdir()
    ep = load_episode(ep_dir)
    assert ep.outcome["status"] == "max_steps"
    assert ep.steps[0]["actions"][0]["gate"]["verdict"] == "deny"


@pytest.mark.browser
def test_secrets_are_typed_but_never_recorded(tmp_path: Path, serve: Any) -> None:
    html = (
        '<!doctype html><body style="margin:0"><input id="pw" style="position:absolute;'
        'left:20px;top:20px;width:300px;height:40px"></body>'
    )
    env = gymnasium.make(
        env_id("browser"),
        url=serve("login.html", html),
        task="Sign in with {{secret:password}}",
        viewport=(400, 300),
        record_dir=tmp_path / "runs",
        secrets={"password": "hunter2-very-secret"},
    )
    try:
        obs, _ = env.reset()
        assert obs["goal"] == "Sign in with {{secret:password}}"
        env.step({"type": "type", "text": "{{secret:password}}", "point": [150, 40]})
        assert env.unwrapped.native.page.input_value("#pw") == "hunter2-very-secret"
        ep_dir = env.unwrapped.episode_dir
    finally:
        env.close()
    for f in ep_dir.iterdir():
        if f.suffix in (".json", ".jsonl"):
            assert "hunter2" not in f.read_text(), f
    assert "{{secret:password}}" in (ep_dir / "steps.jsonl").read_text()


@pytest.mark.browser
def test_make_from_a_recorded_env_spec(tmp_path: Path) -> None:
    """``env=`` an EnvSpec (e.g. the one an episode recorded) builds that env."""
    from agent.core.env import EnvSpec
    from agent.episode.runner import recorded_spec

    meta = {"env": {"name": "browser", "spec": {"site": "account", "viewport": [500, 300]}}}
    env = gymnasium.make(env_id("browser"), env=recorded_spec(meta), record_dir=tmp_path)
    try:
        spec = env.unwrapped.native.spec()
        assert spec.name == "browser" and isinstance(spec, EnvSpec)
        assert (spec.kwargs["site"], spec.kwargs["viewport"]) == ("account", [500, 300])
        obs, _ = env.reset(seed=0)
        assert obs["screenshot"].shape == (300, 500, 3)
    finally:
        env.close()
