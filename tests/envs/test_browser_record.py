"""A person's input on a headed Chromium under Xvfb, captured as RawEvents (issue 24).

Real input: Playwright's ``page.mouse`` / ``page.keyboard`` go through the browser's input
pipeline and reach the page as trusted events, as a person's do. One headed browser for the
module (its DSF 2 check resets the same env at DSF 2, then back).
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent.core.env import Feature
from agent.core.errors import EnvClosedError
from agent.core.inputs import RawEvent
from envs.browser import BrowserEnv
from envs.browser.capture import PageCapture
from envs.browser.record import SECRET_TEXT, BrowserCapture, RecordScript, key_names
from envs.desktop.xvfb import Xvfb

TOP = """<!doctype html><html><body style="margin:0">
<input id="name" name="who" style="position:absolute;left:20px;top:20px;width:200px;height:30px">
<input id="pw" type="password" style="position:absolute;left:20px;top:70px;width:200px;height:30px">
<button id="go" style="position:absolute;left:300px;top:20px;width:100px;height:40px">
  Go   now</button>
<div id="scroller" style="position:absolute;left:20px;top:120px;width:200px;height:100px;
  overflow:auto"><div style="height:3000px">long</div></div>
<iframe id="same" src="/inner" style="position:absolute;left:300px;top:150px;width:300px;
  height:120px;border:5px solid black;padding:3px"></iframe>
<iframe id="cross" src="CROSS/inner" style="position:absolute;left:300px;top:300px;width:300px;
  height:120px;border:2px solid black"></iframe>
<div id="host" style="position:absolute;left:20px;top:400px;width:200px;height:60px"></div>
<div id="closed" style="position:absolute;left:20px;top:480px;width:200px;height:40px"></div>
<a id="pop" href="/inner" target="_blank" style="position:absolute;left:300px;top:450px">Pop</a>
<script>
  const shut = document.getElementById('closed').attachShadow({mode: 'closed'});
  shut.innerHTML = '<input type="password" style="width:200px;height:30px">';
  window.closedField = shut.firstChild;  // (for the test to read its value)
  const root = document.getElementById('host').attachShadow({mode: 'open'});
  root.innerHTML = '<button id="deep" style="width:150px;height:40px"><b>Shadow</b> press</button>';
  // the page's own handlers hide the input from each other, not from the capture
  for (const t of ['pointerdown', 'keydown', 'wheel'])
    window.addEventListener(t, e => e.stopImmediatePropagation(), true);
</script></body></html>"""
INNER = """<!doctype html><body style="margin:0"><button id="fb"
  style="position:absolute;left:10px;top:10px;width:100px;height:50px">Frame button</button>
</body>"""


class _Server:
    """The fixture pages on 127.0.0.1; the cross-origin frame is the same server named
    ``localhost`` (another site: Chromium puts it in another process)."""

    def __init__(self) -> None:
        pages = {"/inner": INNER}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0], pages["/"]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.httpd.server_address[1]
        pages["/"] = TOP.replace("CROSS", f"http://localhost:{port}")
        self.url = f"http://127.0.0.1:{port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    server = _Server()
    with Xvfb(1024, 768) as xvfb, pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISPLAY", xvfb.display)
        e = BrowserEnv(server.url, viewport=(800, 600), headless=False)
        try:
            yield e
        finally:
            e.close()
            server.httpd.shutdown()


def _fresh(env: BrowserEnv) -> BrowserCapture:
    """The page reloaded (nothing focused, nothing scrolled), a capture started on it."""
    env.reset()  # (its load event waited for both frames)
    src = env.input_source()
    src.start()
    return src


def _collect(src: BrowserCapture, done: Callable[[list[RawEvent]], bool]) -> list[RawEvent]:
    """Poll until ``done`` says the events are all in (at most 5 s)."""
    got: list[RawEvent] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        got += src.poll()
        if done(got):
            break
        time.sleep(0.02)
    return got


def _presses(events: list[RawEvent]) -> list[RawEvent]:
    return [e for e in events if e.kind in ("down", "up")]


def test_clicks_in_frames_and_shadow_roots(env: BrowserEnv) -> None:
    assert Feature.INPUT_RECORDING in env.features
    src = _fresh(env)
    mouse = env.page.mouse
    t0 = time.monotonic()
    mouse.move(300, 200, steps=5)
    mouse.move(350, 40)
    mouse.click(350, 40)  # the button
    mouse.click(368, 193, button="right")  # the same-origin frame's button (offset 308, 158)
    mouse.click(362, 352)  # the cross-origin frame's button (offset 302, 302)
    mouse.click(95, 420)  # the shadow root's button (inside its <b>)
    got = _collect(src, lambda ev: len(_presses(ev)) == 8)
    t1 = time.monotonic()
    presses = _presses(got)
    assert [(e.kind, e.button, e.x, e.y) for e in presses] == [
        ("down", "left", 350, 40), ("up", "left", 350, 40),
        ("down", "right", 368, 193), ("up", "right", 368, 193),
        ("down", "left", 362, 352), ("up", "left", 362, 352),
        ("down", "left", 95, 420), ("up", "left", 95, 420),
    ]  # fmt: skip
    go, same, cross, deep = (presses[i].target or {} for i in (0, 2, 4, 6))
    assert (go["tag"], go["id"], go["text"]) == ("button", "go", "Go now")
    assert go["box"] == [300, 20, 400, 60]
    assert (same["id"], same["text"], same["box"]) == ("fb", "Frame button", [318, 168, 418, 218])
    assert same["frame"].endswith("/inner") and "localhost" in cross["frame"]
    assert (cross["id"], cross["box"]) == ("fb", [312, 312, 412, 362])
    assert (deep["tag"], deep["id"], deep["text"]) == ("button", "deep", "Shadow press")
    assert deep["shadow"] is True
    assert "shadow" not in go
    # the last move before each press is where the press is; times on our monotonic clock
    for press in presses[::2]:
        before = [e for e in got if e.kind == "move" and e.t <= press.t]
        assert (before[-1].x, before[-1].y) == (press.x, press.y)
    assert all(t0 <= e.t <= t1 for e in got)
    assert [e.t for e in got] == sorted(e.t for e in got)


def test_keys_text_chords(env: BrowserEnv) -> None:
    src = _fresh(env)
    page = env.page
    page.mouse.click(100, 35)
    page.keyboard.press("Shift+KeyH")  # a capital as a person types one
    page.keyboard.type("i!")  # (Playwright types "!" without Shift)
    page.keyboard.press("Control+a")
    page.keyboard.press("Enter")
    got = _collect(src, lambda ev: any(e.key == "enter" and e.kind == "key_up" for e in ev))
    keys = [(e.kind, e.key, e.text, e.modifiers) for e in got if e.kind.startswith("key")]
    assert keys == [
        ("key_down", "shift", None, ("shift",)),
        ("key_down", "h", "H", ("shift",)), ("key_up", "h", None, ("shift",)),
        ("key_up", "shift", None, ()),
        ("key_down", "i", "i", ()), ("key_up", "i", None, ()),
        ("key_down", "!", "!", ()), ("key_up", "!", None, ()),
        ("key_down", "ctrl", None, ("ctrl",)),
        ("key_down", "a", None, ("ctrl",)), ("key_up", "a", None, ("ctrl",)),
        ("key_up", "ctrl", None, ()),
        ("key_down", "enter", None, ()), ("key_up", "enter", None, ()),
    ]  # fmt: skip
    field = [e for e in got if e.kind == "key_down"][1].target or {}
    assert (field["tag"], field["id"], field["name"]) == ("input", "name", "who")
    assert field["code"] == "KeyH" and "box" not in field
    assert page.input_value("#name") == "Hi!"  # the keys reached the field


def test_key_names_reverse_ours() -> None:
    names = key_names()
    assert (names["ArrowUp"], names["Control"], names[" "]) == ("up", "ctrl", "space")
    assert (names["="], names["Enter"]) == ("equal", "enter")
    assert (names["+"], names["PageDown"], names["F5"]) == ("plus", "pagedown", "f5")


def test_wheel_in_css_and_screenshot_px(env: BrowserEnv) -> None:
    src = _fresh(env)
    mouse = env.page.mouse
    mouse.move(100, 170)
    mouse.wheel(0, 120)
    mouse.wheel(-30, 0)
    got = _collect(src, lambda ev: sum(e.kind == "wheel" for e in ev) == 2)
    wheels = [e for e in got if e.kind == "wheel"]
    assert [(e.x, e.y, e.dx, e.dy) for e in wheels] == [(100, 170, 0, 120), (100, 170, -30, 0)]
    assert (wheels[0].target or {})["id"] == "scroller"


def test_password_never_in_clear(env: BrowserEnv) -> None:
    src = _fresh(env)
    page = env.page
    page.mouse.click(100, 85)
    page.keyboard.type("Sw0rdFish")
    page.keyboard.press("Backspace")
    page.mouse.click(100, 495)  # a password field inside a closed shadow root
    page.keyboard.type("Qv7")
    page.keyboard.press("Enter")
    got = _collect(src, lambda ev: any(e.key == "enter" and e.kind == "key_up" for e in ev))
    assert page.input_value("#pw") == "Sw0rdFis"  # the person's typing reached the fields
    assert page.evaluate("closedField.value") == "Qv7"
    typed = [e for e in got if e.kind == "text"]
    assert [e.text for e in typed] == [SECRET_TEXT] * 12
    assert all((e.target or {}).get("secret") is True for e in typed)
    keys = [(e.kind, e.key) for e in got if e.kind.startswith("key")]
    assert keys == [("key_down", "backspace"), ("key_up", "backspace"),
                    ("key_down", "enter"), ("key_up", "enter")]  # fmt: skip
    dump = repr([(e, e.target) for e in got]).lower()
    for piece in ("sw0", "0rd", "fish", "keyw", "keyf", "digit0", "'w'", "'s'", "qv7", "'q'"):
        assert piece not in dump


def test_synthetic_and_forged_events_are_not_captured(env: BrowserEnv) -> None:
    src = _fresh(env)
    page = env.page
    page.evaluate(
        """(name) => {
          const opts = {bubbles: true, composed: true, clientX: 5, clientY: 5, button: 0};
          const b = document.getElementById('go');
          b.dispatchEvent(new PointerEvent('pointerdown', opts));
          b.dispatchEvent(new PointerEvent('pointerup', opts));
          b.dispatchEvent(new WheelEvent('wheel', {bubbles: true, deltaY: 50}));
          window.dispatchEvent(new KeyboardEvent('keydown', {key: 'x'}));
          for (const k of Object.keys(window)) if (k.startsWith(name))
            window[k]({kind: 'down', t: 0, cx: 1, cy: 1, dpr: 1, top: true, button: 'left'});
        }""",
        "__naRecord_",
    )
    page.mouse.click(350, 40)  # the one real press
    got = _collect(src, lambda ev: len(_presses(ev)) >= 2)
    assert [(e.kind, e.x) for e in got if e.kind != "move"] == [("down", 350), ("up", 350)]
    assert src.dropped == 1  # the page's own call of the binding, without the key


def test_device_scale_factor_two(env: BrowserEnv) -> None:
    env.dsf, env._shots = 2.0, PageCapture(env.viewport, 2.0)
    try:
        src = _fresh(env)
        mouse = env.page.mouse
        mouse.click(368, 193)  # CSS px: the frame's button
        mouse.move(100, 170)
        mouse.wheel(0, 100)
        got = _collect(src, lambda ev: any(e.kind == "wheel" for e in ev))
        down = _presses(got)[0]
        assert (down.x, down.y, (down.target or {})["box"]) == (736, 386, [636, 336, 836, 436])
        shot = env.observe().array.shape
        assert shot[:2] == (1200, 1600)  # the screenshot these px are of
        wheel = next(e for e in got if e.kind == "wheel")
        assert (wheel.x, wheel.y, wheel.dy, (wheel.target or {})["dpr"]) == (200, 340, 200, 2)
    finally:
        env.dsf, env._shots = 1.0, PageCapture(env.viewport, 1.0)
        env.reset()


def test_capture_ends_with_its_context(env: BrowserEnv) -> None:
    src = _fresh(env)
    src.stop()
    env.page.mouse.click(350, 40)
    assert src.poll() == []
    src.start()
    env.reset()
    with pytest.raises(EnvClosedError, match="reset"):
        src.poll()
    assert os.environ.get("DISPLAY")  # headed: the module's Xvfb


def test_a_press_always_follows_a_move_to_its_point() -> None:
    """Where the browser coalesced the last move away, one is inserted at the press."""
    cap = BrowserCapture(lambda: None, 1.0, RecordScript())
    events = [
        RawEvent(t=1.0, kind="move", x=10, y=10),
        RawEvent(t=2.0, kind="down", x=50, y=60, button="left"),
        RawEvent(t=3.0, kind="up", x=50, y=60, button="left"),
    ]
    out = cap._moved_first(events)
    assert [(e.kind, e.t, e.x, e.y) for e in out] == [
        ("move", 1.0, 10, 10), ("move", 2.0, 50, 60), ("down", 2.0, 50, 60), ("up", 3.0, 50, 60)
    ]  # fmt: skip
    assert cap._moved_first([RawEvent(t=4.0, kind="down", x=50, y=60)])[0].kind == "down"


def test_times_are_the_pages_not_the_arrivals(env: BrowserEnv) -> None:
    """A person's input (xdotool through the X server, as a hand's) is reported to Python
    only when Playwright is next called; it is stamped with the page's event time, not then."""
    src = _fresh(env)
    src.poll()
    subprocess.run(["xdotool", "mousemove", "400", "300", "click", "1"], check=True)
    done = time.monotonic()
    time.sleep(0.5)  # no Playwright call: nothing is delivered meanwhile
    got = _collect(src, lambda ev: len(_presses(ev)) == 2)
    assert [e.kind for e in _presses(got)] == ["down", "up"]
    assert all(e.t <= done + 0.2 for e in got)  # the arrivals came ≥ 0.5 s after `done`


def test_text_without_keys(env: BrowserEnv) -> None:
    """Text an input method commits, and text inserted with no key, as ``text`` events."""
    src = _fresh(env)
    page = env.page
    page.mouse.click(100, 35)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.imeSetComposition", {"text": "にほ", "selectionStart": 2, "selectionEnd": 2})
    cdp.send("Input.insertText", {"text": "日本"})  # commits the composition
    page.keyboard.insert_text("ok")  # no key pressed
    page.keyboard.type("a")  # a key: its own key_down says it, no text event
    cdp.detach()
    got = _collect(src, lambda ev: any(e.kind == "key_up" for e in ev))
    assert page.input_value("#name") == "日本oka"
    assert [(e.kind, e.text) for e in got if e.kind.startswith("key") or e.kind == "text"] == [
        ("text", "日本"), ("text", "ok"), ("key_down", "a"), ("key_up", None)
    ]  # fmt: skip


def test_popups_and_navigations_are_captured(env: BrowserEnv) -> None:
    src = _fresh(env)
    page = env.page
    with page.context.expect_page() as opened:
        page.mouse.click(310, 458)  # the link opens a tab
    popup = opened.value
    popup.wait_for_load_state()
    popup.mouse.click(60, 35)  # its button, in a document that did not exist at start
    page.bring_to_front()
    page.goto(page.url + "inner")  # the first tab navigates to a new document
    page.mouse.click(60, 35, button="middle")
    got = _collect(src, lambda ev: len(_presses(ev)) == 6)
    downs = [(e.button, (e.target or {}).get("id")) for e in got if e.kind == "down"]
    assert downs == [("left", "pop"), ("left", "fb"), ("middle", "fb")]
