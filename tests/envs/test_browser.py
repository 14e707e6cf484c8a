"""BrowserEnv against a real headless Chromium: every action's DOM effect, DSF 1 and 2
coordinates, failures, a crashed page, a killed browser, clean shutdown, discovery."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from agent.core.actions import (
    Back,
    Click,
    DoubleClick,
    Drag,
    Hover,
    Key,
    MiddleClick,
    Navigate,
    RightClick,
    Scroll,
    Type,
    Wait,
)
from agent.core.errors import EnvClosedError, EnvNotAvailableError
from envs.browser import BrowserEnv, find_browser, normalize_url, to_playwright
from envs.browser.discover import ENV_VAR, playwright_candidates
from envs.browser.dom import rect_to_screen

# ---- pure functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "playwright"),
    [
        ("ctrl+shift+t", "Control+Shift+T"),
        ("ctrl+a", "Control+a"),
        ("Control + C", "Control+c"),
        ("enter", "Enter"),
        ("return", "Enter"),
        ("pageup", "PageUp"),
        ("pgdn", "PageDown"),
        ("up", "ArrowUp"),
        ("left", "ArrowLeft"),
        ("shift+tab", "Shift+Tab"),
        ("esc", "Escape"),
        ("cmd+v", "Meta+v"),
        ("alt+f4", "Alt+F4"),
        ("space", "Space"),
        ("backspace", "Backspace"),
        ("delete", "Delete"),
        ("plus", "+"),
        ("ctrl+plus", "Control++"),
        ("shift", "Shift"),
        ("a", "a"),
        ("/", "/"),
    ],
)
def test_key_translation(ours: str, playwright: str) -> None:
    assert to_playwright(ours) == playwright


@pytest.mark.parametrize("bad", ["ctrl+bogus", "a+b", "enter+x"])
def test_key_translation_rejects_unknown_names(bad: str) -> None:
    with pytest.raises(ValueError):
        to_playwright(bad)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("example.com", "http://example.com"),
        ("example.com/a?b=1", "http://example.com/a?b=1"),
        ("localhost:8000/x", "http://localhost:8000/x"),
        ("example.com:8080/p", "http://example.com:8080/p"),
        ("  https://example.com  ", "https://example.com"),
        ("HTTP://EXAMPLE.COM", "HTTP://EXAMPLE.COM"),
        ("about:blank", "about:blank"),
        ("file:///tmp/x.html", "file:///tmp/x.html"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "chrome://settings", "data:text/html,hi", "ftp://x.org", " "]
)
def test_normalize_url_refuses(url: str) -> None:
    from agent.core.errors import ActionFailedError

    with pytest.raises(ActionFailedError):
        normalize_url(url)


# ---- discovery ----------------------------------------------------------------------------------


def _exe(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _names_fixes(msg: str) -> None:
    for fix in ("apt-get install chromium", "playwright install chromium", "--browser-path"):
        assert fix in msg


def test_discovery_order(tmp_path: Path) -> None:
    explicit, from_env = _exe(tmp_path / "a" / "chrome"), _exe(tmp_path / "b" / "chrome")
    system = _exe(tmp_path / "c" / "chromium")
    env = {ENV_VAR: from_env}
    assert find_browser(explicit, env=env, playwright_paths=[], system_paths=[system]) == explicit
    assert find_browser(None, env=env, playwright_paths=[], system_paths=[system]) == from_env
    assert find_browser(None, env={}, playwright_paths=[], system_paths=[system]) == system
    # an empty variable counts as unset
    assert (
        find_browser(None, env={ENV_VAR: ""}, playwright_paths=[], system_paths=[system]) == system
    )


def test_discovery_prefers_playwright_download(tmp_path: Path) -> None:
    env = {"PLAYWRIGHT_BROWSERS_PATH": str(tmp_path)}
    candidates = playwright_candidates(env, headless=True, revision="1234")
    assert candidates and all(c.startswith(str(tmp_path)) for c in candidates)
    downloaded = _exe(Path(candidates[-1]))  # the full Chromium build
    system = _exe(tmp_path / "sys" / "chromium")
    found = find_browser(None, env=env, playwright_paths=candidates, system_paths=[system])
    assert found == downloaded


def test_discovery_errors_name_the_fixes(tmp_path: Path) -> None:
    with pytest.raises(EnvNotAvailableError) as err:
        find_browser(None, env={ENV_VAR: ""}, playwright_paths=[], system_paths=[])
    assert "no Chromium" in str(err.value)
    _names_fixes(str(err.value))
    with pytest.raises(EnvNotAvailableError) as err:
        find_browser(None, env={ENV_VAR: str(tmp_path / "nope")}, playwright_paths=[])
    assert ENV_VAR in str(err.value)
    _names_fixes(str(err.value))
    # a wrong explicit path is an error, even though a system browser exists here
    with pytest.raises(EnvNotAvailableError) as err:
        find_browser(str(tmp_path / "missing-chrome"))
    assert "missing-chrome" in str(err.value)


def test_bad_start_arguments_fail_before_launching() -> None:
    from agent.core.errors import ConfigError

    for kwargs in ({"url": "javascript:alert(1)"}, {"site": "nosuch"}, {"dsf": 0.0}):
        with pytest.raises(ConfigError):
            BrowserEnv(**kwargs, browser_path="/nonexistent/bin/chrome")


def test_browser_env_without_browser_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "")
    with pytest.raises(EnvNotAvailableError) as err:
        BrowserEnv(browser_path="/nonexistent/bin/chrome")
    _names_fixes(str(err.value))


# ---- one browser per DSF for the action tests ------------------------------------------------


@pytest.fixture(scope="module")
def env1(actions_url: str):
    env = BrowserEnv(actions_url, dsf=1.0)
    yield env
    env.close()


@pytest.fixture(scope="module")
def env2(actions_url: str):
    env = BrowserEnv(actions_url, dsf=2.0)
    yield env
    env.close()


@pytest.fixture
def env(env1: BrowserEnv, actions_url: str) -> BrowserEnv:
    env1.reset(url=actions_url)
    return env1


def log(env: BrowserEnv) -> list[str]:
    return env.page.evaluate("window.__log")


def center(env: BrowserEnv, selector: str) -> tuple[float, float]:
    """An element's click point in screenshot px (through agent.core.coords)."""
    b = env.page.locator(selector).bounding_box()
    assert b is not None
    rect = (b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"])
    return rect_to_screen(env.geometry(), rect)[1]


def step_ok(env: BrowserEnv, action):
    res = env.step(action)
    assert not res.truncated and not res.terminated
    assert res.observation.last_action_error is None, res.observation.last_action_error
    return res.observation


def test_observation_is_native(env: BrowserEnv, actions_url: str) -> None:
    obs = env.observe()
    assert obs.size == (1280, 800) and obs.scale == 1.0
    assert obs.has_png and obs.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert obs.url == actions_url and obs.title == "Action fixture"
    assert obs.array.shape == (800, 1280, 3)


def test_click(env: BrowserEnv) -> None:
    step_ok(env, Click(point=center(env, "#btn")))
    assert log(env) == ["click:0:100,40"]


def test_double_click(env: BrowserEnv) -> None:
    step_ok(env, DoubleClick(point=center(env, "#btn")))
    assert "dblclick" in log(env)


def test_right_click(env: BrowserEnv) -> None:
    step_ok(env, RightClick(point=center(env, "#btn")))
    assert "contextmenu" in log(env)


def test_middle_click(env: BrowserEnv) -> None:
    step_ok(env, MiddleClick(point=center(env, "#btn")))
    assert "auxclick:1" in log(env)


def test_hover(env: BrowserEnv) -> None:
    step_ok(env, Hover(point=center(env, "#hover")))
    assert "mouseover" in log(env)


def test_drag(env: BrowserEnv) -> None:
    start = center(env, "#thumb")
    step_ok(env, Drag(start=start, end=(320, start[1])))
    events = log(env)
    assert events[0].startswith("down:") and events[-1] == "up:320:290"
    assert env.page.evaluate("document.getElementById('thumb').style.left") == "290px"


def test_type_clear_and_enter(env: BrowserEnv) -> None:
    field = center(env, "#text")
    step_ok(env, Type(text="hello", point=field))
    assert env.page.input_value("#text") == "hello"
    step_ok(env, Type(text="world", point=field, clear=True, enter=True))
    assert env.page.input_value("#text") == "world"
    assert "enter:world" in log(env)


def test_type_non_ascii(env: BrowserEnv) -> None:
    step_ok(env, Type(text="naïve café 日本", point=center(env, "#text")))
    assert env.page.input_value("#text") == "naïve café 日本"


def test_type_without_point_goes_to_focus(env: BrowserEnv) -> None:
    step_ok(env, Click(point=center(env, "#second")))
    step_ok(env, Type(text="abc"))
    assert env.page.input_value("#second") == "abc"


def test_keys(env: BrowserEnv) -> None:
    step_ok(env, Type(text="abc", point=center(env, "#text")))
    step_ok(env, Key(keys="ctrl+a"))
    sel = env.page.evaluate("[text.selectionStart, text.selectionEnd]")
    assert sel == [0, 3] and "key:ctrl+a" in log(env)
    step_ok(env, Key(keys="Enter"))
    assert "enter:abc" in log(env)
    step_ok(env, Click(point=center(env, "#second")))
    step_ok(env, Key(keys="shift+Tab"))
    assert env.page.evaluate("document.activeElement.id") == "first"


def test_scroll_100_css_px_per_notch(env: BrowserEnv) -> None:
    step_ok(env, Scroll(direction="down", amount=3))
    assert env.page.evaluate("scrollY") == 300
    step_ok(env, Scroll(direction="up", amount=1, point=(640, 600)))
    assert env.page.evaluate("scrollY") == 200


def test_wait(env: BrowserEnv) -> None:
    t = time.monotonic()
    step_ok(env, Wait(seconds=0.3))
    assert time.monotonic() - t >= 0.3


def test_navigate_and_back(env: BrowserEnv, actions_url: str) -> None:
    obs = step_ok(env, Navigate(url=actions_url + "?page=2"))
    assert obs.url.endswith("actions.html?page=2")
    obs = step_ok(env, Back())
    assert obs.url == actions_url


def test_navigate_bad_scheme_reports_error(env: BrowserEnv, actions_url: str) -> None:
    res = env.step(Navigate(url="javascript:alert(1)"))
    assert not res.truncated and not res.terminated
    assert "not allowed" in res.observation.last_action_error
    assert res.info["error_type"] == "ActionFailedError"
    assert res.observation.url == actions_url
    step_ok(env, Click(point=center(env, "#btn")))  # the env still works


def test_navigate_unreachable_reports_error(env: BrowserEnv) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = env.step(Navigate(url=f"http://127.0.0.1:{port}/"))
    assert not res.truncated
    assert "ERR_CONNECTION_REFUSED" in res.observation.last_action_error


def test_bad_point_and_unknown_key_report_errors(env: BrowserEnv) -> None:
    res = env.step(Click(point=(5000, 5000)))
    assert not res.truncated and "CoordinateError" in res.observation.last_action_error
    res = env.step(Key(keys="ctrl+bogus"))
    assert not res.truncated and "unknown key" in res.observation.last_action_error
    res = env.step(Wait(seconds=0))
    assert res.observation.last_action_error is None  # errors do not stick


def test_dialog_is_reported(env: BrowserEnv) -> None:
    obs = step_ok(env, Click(point=center(env, "#alert-btn")))
    assert obs.extra["dialogs"] == ["alert: hello from alert"]
    assert "dialogs" not in env.observe().extra


def test_new_tab_becomes_active(env: BrowserEnv) -> None:
    obs = step_ok(env, Click(point=center(env, "#popup-link")))
    assert obs.url.endswith("actions.html#popup")
    assert len(env.page.context.pages) == 2


def test_element_at(env: BrowserEnv) -> None:
    info = env.element_at(center(env, "#btn"))
    assert info is not None
    assert (info["tag"], info["role"], info["text"]) == ("button", "button", "Press me")
    assert info["box"] == [20, 20, 180, 60] and not info["password"]
    pwd = env.element_at(center(env, "#password"))
    assert pwd["password"] and pwd["editable"] and pwd["label"] == "Password"


# ---- DSF 2: physical screenshot pixels, CSS input ----------------------------------------------


def test_dsf2_screenshot_is_physical(env2: BrowserEnv, actions_url: str) -> None:
    obs = env2.reset(url=actions_url)
    assert obs.size == (2560, 1600) and obs.scale == 2.0
    assert env2.to_input((500, 300)) == (250, 150)


def test_dsf2_click_center_hits(env2: BrowserEnv, actions_url: str) -> None:
    env2.reset(url=actions_url)
    step_ok(env2, Click(point=center(env2, "#btn")))
    assert log(env2) == ["click:0:100,40"]
    info = env2.element_at(center(env2, "#btn"))
    assert info["box"] == [40, 40, 360, 120]  # CSS box × 2


def test_dsf2_scroll_is_css_px(env2: BrowserEnv, actions_url: str) -> None:
    env2.reset(url=actions_url)
    step_ok(env2, Scroll(direction="down", amount=2))
    assert env2.page.evaluate("scrollY") == 200


def _pixels(obs, rgb: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(np.all(obs.array == np.array(rgb, np.uint8), axis=-1))
    return xs, ys


@pytest.mark.browser
@pytest.mark.parametrize("which", ["env1", "env2"])
def test_targets_found_in_pixels_are_hit(which: str, request, actions_url: str) -> None:
    """Find targets by colour in the screenshot and click their pixel centre: a 1-px-wide
    target at an odd CSS position and an odd-sized box are hit at DSF 1 and 2."""
    env: BrowserEnv = request.getfixturevalue(which)
    obs = env.reset(url=actions_url)
    dsf = int(env.dsf)
    xs, ys = _pixels(obs, (255, 0, 255))  # the 1-px magenta line at CSS x=301
    assert sorted(set(xs.tolist())) == list(range(301 * dsf, 302 * dsf))
    step_ok(env, Click(point=(float(xs.mean()), float(ys.mean()))))
    assert log(env) == ["thin"]
    xs, ys = _pixels(obs, (255, 255, 0))  # the yellow 51×31 box at CSS (601, 301)
    step_ok(env, Click(point=(float(xs.mean()), float(ys.mean()))))
    assert log(env)[-1] == "big:626,316"


# ---- failure, crash, kill, close --------------------------------------------------------------


def test_crashed_page_truncates_and_reset_recovers(actions_url: str) -> None:
    env = BrowserEnv(actions_url)
    try:
        with pytest.raises(Exception):  # noqa: B017 — any Playwright error will do
            env.page.goto("chrome://crash", timeout=5000)
        res = env.step(Click(point=(100, 40)))
        assert res.truncated and not res.terminated
        assert "crash" in res.observation.last_action_error
        assert res.info["error_type"] == "EnvClosedError"
        env.reset(url=actions_url)  # a fresh context and page
        step_ok(env, Click(point=(100, 40)))
        assert log(env) == ["click:0:100,40"]
    finally:
        env.close()


def test_killed_browser_truncates_and_close_cleans_up(actions_url: str, procs) -> None:
    env = BrowserEnv(actions_url)
    pid = env.browser_pid
    assert pid is not None
    tree = procs.tree(pid)
    env.observe()
    os.kill(pid, signal.SIGKILL)
    res = env.step(Click(point=(100, 40)))
    assert res.truncated
    assert res.observation.last_action_error
    assert res.observation.size == (1280, 800)  # the last screen, flagged
    env.close()
    env.close()
    procs.assert_gone(tree)


def test_close_is_idempotent_and_leaves_no_processes(actions_url: str, procs) -> None:
    env = BrowserEnv(actions_url, site="shop")
    env.site_url("shop")  # start the site server too
    port = env.site_server.port
    tree = procs.tree(env.browser_pid)
    assert len(tree) >= 3  # browser, zygote, renderer...
    env.close()
    env.close()
    procs.assert_gone(tree)
    with pytest.raises(EnvClosedError):
        env.step(Click(point=(1, 1)))
    import socket

    with socket.socket() as s:  # the server port is free again
        s.bind(("127.0.0.1", port))


@pytest.mark.parametrize("viewport", [(1920, 1080), (1366, 768)])
def test_common_viewports(viewport: tuple[int, int]) -> None:
    with BrowserEnv(site="shop", viewport=viewport) as env:
        obs = env.observe()
        assert obs.size == viewport
        assert "/shop/" in obs.url
        info = env.element_at(center(env, "#search"))
        assert info["tag"] == "input" and info["label"] == "Search products"
        step_ok(env, Type(text="socks", point=center(env, "#search"), enter=True))
        assert env.page.locator(".product-card").count() == 1
