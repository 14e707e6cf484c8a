"""The action gate: policies (pure), and real envs — a "Pay now" click stopped in headless
Chromium (bundled flights payment page, DOM target), on a Tk window under Xvfb (OCR target),
on Android (fake adb server with a uiautomator dump); URL and app lists; the terminal
prompt through a real pty; the CLI flags."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cli import build_parser
from agent.commands.flags import gate_from_args as build_gate
from agent.core.actions import (
    Back,
    Click,
    Drag,
    Key,
    MiddleClick,
    Navigate,
    OpenApp,
    Swipe,
    Type,
    Wait,
)
from agent.core.errors import ConfigError
from agent.core.task import Task, TaskResult
from agent.episode.runner import run
from agent.safety.gate import AllowAll, ConfirmRequest, PolicyGate
from agent.safety.policy import Policy, default_policy, load_policy, url_matches
from envs.browser import BrowserEnv
from envs.browser.dom import rect_to_screen
from envs.sites.flights import BookCheapestNonstop
from model.scripted import ScriptedModel

ROOT = Path(__file__).resolve().parents[3]


def click(x: float, y: float) -> str:
    return json.dumps({"type": "click", "point": [x, y]})


FINISH = '{"type": "finish", "status": "success"}'


# ---- the policy, pure -------------------------------------------------------------------------


def test_default_policy_confirms_money_and_deletion_words_only() -> None:
    p = default_policy()
    for text in ("Pay now $420.00", "BUY NOW", "Place   order", "Delete account", "Transfer"):
        verdict, rule, phrase = p.rule_for("click", text, None, None)
        assert verdict == "confirm" and rule is not None and phrase, text
    for text in ("Continue to payment", "Payments", "Deleted items", "OK", "Search flights"):
        assert p.rule_for("click", text, None, None)[0] == "allow", text
    assert p.rule_for("scroll", "Pay now", None, None)[0] == "allow"  # scrolling pays nothing
    assert p.rule_for("click", None, None, None)[0] == "allow"  # no target read: no match
    assert p.non_interactive == "deny" and p.needs_target("click") and not p.needs_target("wait")


def test_policy_files_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text(
        'name = "strict"\nnon_interactive = "deny"\n'
        '[urls]\nallow = ["127.0.0.1", "https://*.example.com/*"]\ndeny = ["*/admin*"]\n'
        '[apps]\nallow = ["settings"]\n'
        '[[rules]]\nname = "ok-is-fine"\nverdict = "allow"\nactions = ["click"]\ntarget = ["ok"]\n'
        '[[rules]]\nname = "no-downloads"\nverdict = "deny"\ntarget = ["re:down-?load"]\n'
    )
    p = load_policy(toml)
    assert p.name == "strict" and p.rules[0].name == "ok-is-fine"
    assert p.rules[-1].name == "irreversible"  # extends the default rules unless told
    assert p.rule_for("click", "Download report", None, None)[0] == "deny"
    assert p.rule_for("click", "Pay now", None, None)[0] == "confirm"
    assert p.url_verdict("http://127.0.0.1:8000/x") is None
    assert p.url_verdict("https://a.example.com/b") is None
    assert "deny list" in (p.url_verdict("http://127.0.0.1/admin/users") or "")
    assert "not on the allow list" in (p.url_verdict("http://evil.test/") or "")
    assert p.app_verdict("Settings") is None and p.app_verdict("chrome")
    js = tmp_path / "p.json"
    js.write_text(
        json.dumps({"extends": "none", "rules": [{"verdict": "deny", "actions": ["key"]}]})
    )
    pj = load_policy(js)
    assert len(pj.rules) == 1 and pj.rule_for("key", None, None, None)[0] == "deny"
    assert Policy.from_json(pj.to_json()) == pj  # recorded in episode.json, read on resume
    for bad in (
        '[[rules]]\nverdict = "maybe"',
        'colour = "red"',
        '[[rules]]\nverdict="deny"\nactions=["fly"]',
        '[[rules]]\nverdict="deny"\ntarget=["re:("]',
    ):
        (tmp_path / "bad.toml").write_text(bad)
        with pytest.raises(ConfigError):
            load_policy(tmp_path / "bad.toml")


def test_url_patterns() -> None:
    assert url_matches("example.com", "https://www.example.com/a")
    assert not url_matches("example.com", "https://notexample.com/")
    assert url_matches("127.0.0.1:8000", "http://127.0.0.1:8000/x")
    assert not url_matches("127.0.0.1:8000", "http://127.0.0.1:9000/x")
    assert url_matches("*://*/admin*", "http://h/admin/x") and not url_matches("", "http://h")
    p = Policy().with_urls(allow=["127.0.0.1"], deny=["evil.test"])
    assert p.url_verdict("evil.test/x")  # scheme-less, as the browser env completes it
    assert p.url_verdict("http://evil.test\\@127.0.0.1/")  # a browser's host is evil.test
    assert p.url_verdict("http://127.0.0.1@evil.test/")  # user info is not the host
    assert p.url_verdict("127.0.0.1:8000/x") is None and p.url_verdict("about:blank") is None


def test_cli_flags_build_the_gate(tmp_path: Path) -> None:
    pol = tmp_path / "p.json"
    pol.write_text(json.dumps({"name": "mine"}))
    parse = build_parser().parse_args
    args = parse(
        [
            "run",
            "--task",
            "x",
            "--policy",
            str(pol),
            "--allow-url",
            "127.0.0.1",
            "--deny-url",
            "*/admin*",
            "--yes",
        ]
    )
    gate = build_gate(args)
    assert isinstance(gate, PolicyGate) and gate.confirm == "yes"
    assert gate.policy.name == "mine" and gate.policy.allow_urls == ("127.0.0.1",)
    assert gate.policy.deny_urls == ("*/admin*",)
    gate = build_gate(parse(["run", "--task", "x"]))
    assert isinstance(gate, PolicyGate) and gate.confirm == "auto"
    assert gate.policy == default_policy()
    assert isinstance(build_gate(parse(["run", "--task", "x", "--no-gate"])), AllowAll)
    a = parse(["run"])
    with pytest.raises(ConfigError, match="--resume"):
        a.func(a)


# ---- browser: the bundled flights payment page --------------------------------------------------


class PaymentPage(Task):
    """The flights payment page with the card filled in: one click on "Pay now" books."""

    id = "test/payment"
    goal = "Pay for the flight"

    def setup(self, env: Any) -> None:
        server = env.site_server
        server.api("flights", "POST", "reset", {})
        env.reset(url=server.url_for("flights", "#/"))
        fid = BookCheapestNonstop().expected()["id"]
        draft = {"flight": fid, "passengers": [{"name": "Ada Lovelace", "email": "a@b.org"}]}
        env.page.evaluate("d => sessionStorage.setItem('flights.draft', JSON.stringify(d))", draft)
        env.page.goto(server.url_for("flights", f"#/payment?flight={fid}"))
        env.page.wait_for_selector("#pay-btn")
        for sel, text in (
            ("#card-number", "4242 4242 4242 4242"),
            ("#card-expiry", "12/30"),
            ("#card-cvc", "123"),
        ):
            env.page.fill(sel, text)

    def evaluate(self, env: Any) -> TaskResult:
        n = len(env.site_server.api("flights", "GET", "state")["bookings"])
        return TaskResult(success=n == 1, details={"bookings": n})


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserEnv]:
    env = BrowserEnv(site="flights")
    yield env
    env.close()


def centre_of(env: BrowserEnv, selector: str) -> tuple[float, float]:
    rect = env.page.eval_on_selector(
        selector,
        "e => {const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]}",
    )
    return rect_to_screen(env.geometry(), tuple(rect))[1]


def test_pay_now_is_stopped_in_the_browser_and_recorded(
    browser: BrowserEnv, tmp_path: Path
) -> None:
    task = PaymentPage()
    task.setup(browser)
    pay = centre_of(browser, "#pay-btn")
    model = ScriptedModel([click(*pay), FINISH])
    ep = run(task, env=browser, model=model, out=tmp_path / "denied", gate=PolicyGate())
    rec = ep.steps[0]["actions"][0]
    gate = rec["gate"]
    assert gate["verdict"] == "deny" and gate["policy"] == "default"
    assert gate["rule"] == "irreversible" and gate["target"]["source"] == "dom"
    assert "Pay now" in gate["target"]["text"] and gate["confirmation"]["ok"] is False
    assert "non-interactive" in gate["confirmation"]["by"]
    assert "result" not in rec and "denied by default" in rec["error"]  # never executed
    assert "denied" in (model.seen[1].observation.last_action_error or "")
    assert ep.outcome["evaluation"]["bookings"] == 0 and ep.outcome["status"] == "failure"
    assert json.loads((ep.dir / "episode.json").read_text())["gate"]["policy"]["name"] == "default"

    asked: list[ConfirmRequest] = []
    approve = PolicyGate(confirm=lambda req: asked.append(req) or True)
    ep = run(
        task,
        env=browser,
        model=ScriptedModel([click(*pay), FINISH]),
        out=tmp_path / "approved",
        gate=approve,
    )
    assert ep.success and ep.outcome["evaluation"]["bookings"] == 1  # the same click books
    assert asked and asked[0].target is not None and "Pay now" in asked[0].target.text
    assert ep.steps[0]["actions"][0]["gate"]["confirmation"] == {"by": "callback", "ok": True}


def test_other_ways_to_press_pay_are_confirmed_too(browser: BrowserEnv) -> None:
    """Enter in a card field submits the form; a ``type`` clicks its point first."""
    PaymentPage().setup(browser)
    cvc, pay = centre_of(browser, "#card-cvc"), centre_of(browser, "#pay-btn")
    gate = PolicyGate(confirm="no")
    obs = browser.observe()
    d = gate.check(Type(text="123", point=cvc, clear=True, enter=True), browser, obs)
    assert d.verdict == "deny" and "submits: Pay now" in d.target["text"]
    browser.page.focus("#card-cvc")
    d = gate.check(Key(keys="enter"), browser, obs)
    assert d.verdict == "deny" and d.target["source"] == "dom-focus"
    assert gate.check(Type(text="123", point=cvc), browser, obs).verdict == "allow"
    assert gate.check(Key(keys="space"), browser, obs).verdict == "allow"  # a space in a field
    d = gate.check(Type(text="x", point=pay), browser, obs)  # its click lands on "Pay now"
    assert d.verdict == "deny" and "Pay now" in d.target["text"]
    browser.page.focus("#pay-btn")
    assert gate.check(Key(keys="space"), browser, obs).verdict == "deny"  # space on a button
    # a typed newline submits like enter=true (issue 15)
    d = gate.check(Type(text="123\n", point=cvc, clear=True), browser, obs)
    assert d.verdict == "deny" and "submits: Pay now" in d.target["text"]
    # a drag that starts or ends on "Pay now" presses it (one that barely moves is a click)
    for start, end in ((pay, pay), (pay, cvc), (cvc, pay)):
        d = gate.check(Drag(start=start, end=end), browser, obs)
        assert d.verdict == "deny" and "Pay now" in d.target["text"], (start, end)
    assert gate.check(MiddleClick(point=pay), browser, obs).verdict == "deny"


def test_url_lists_in_the_browser(browser: BrowserEnv) -> None:
    browser.reset()
    obs = browser.observe()
    assert obs.url and obs.url.startswith("http://127.0.0.1:")
    gate = PolicyGate(Policy().with_urls(allow=["127.0.0.1"], deny=["*/admin*"]))
    assert gate.check(Navigate(url="http://evil.test/"), browser, obs).verdict == "deny"
    d = gate.check(Navigate(url=obs.url.split("#")[0] + "admin/"), browser, obs)
    assert d.verdict == "deny" and d.rule == "urls"
    assert gate.check(Navigate(url=obs.url), browser, obs).verdict == "allow"
    browser.page.evaluate(
        "() => { const a = document.createElement('a'); a.id = 'out'; a.href = 'http://evil.test/x';"
        " a.textContent = 'Elsewhere'; a.style = 'position:fixed;left:10px;top:300px;"
        "font-size:30px;z-index:99'; document.body.appendChild(a); }"
    )
    obs = browser.observe()
    d = gate.check(Click(point=centre_of(browser, "#out")), browser, obs)
    assert d.verdict == "deny" and "link goes to" in (d.reason or "")
    assert d.target and d.target["href"] == "http://evil.test/x"
    # on a page that is not allowed only the ways out run
    elsewhere = PolicyGate(Policy().with_urls(allow=["elsewhere.test"]))
    d = elsewhere.check(Click(point=(5, 5)), browser, obs)
    assert d.verdict == "deny" and "current page is not allowed" in (d.reason or "")
    for way_out in (Back(), Wait(seconds=0.1)):
        assert elsewhere.check(way_out, browser, obs).verdict == "allow"


# ---- desktop: a Tk window under Xvfb, the target read by OCR ------------------------------

TK_PAY = r"""
import json, sys, tkinter as tk
log = open(sys.argv[1], "a", buffering=1)
root = tk.Tk(className="PayFixture")
root.overrideredirect(True)
root.geometry("420x120+20+20")
def pressed(name):
    log.write(json.dumps({"event": "pressed", "button": name}) + "\n")
buttons = {}
for name, text in (("pay", "Pay now"), ("ok", "OK")):
    buttons[name] = tk.Button(root, text=text, width=9, font=("DejaVu Sans", 16),
                              command=lambda n=name: pressed(n))
    buttons[name].pack(side="left", padx=25, pady=30)
def geometry():
    root.update_idletasks()
    log.write(json.dumps({"event": "geometry", **{n: [b.winfo_rootx(), b.winfo_rooty(),
              b.winfo_width(), b.winfo_height()] for n, b in buttons.items()}}) + "\n")
root.after(300, geometry)
root.mainloop()
"""


def _events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def test_pay_now_is_stopped_on_the_desktop_by_ocr(tmp_path: Path) -> None:
    from envs.desktop import DesktopEnv, Xvfb

    app, log = tmp_path / "pay.py", tmp_path / "pay.log"
    app.write_text(TK_PAY)
    with Xvfb(640, 240) as x:
        env = DesktopEnv(display=x.display, app=[sys.executable, str(app), str(log)])
        try:
            env.reset()
            deadline = time.monotonic() + 20
            while not any(e["event"] == "geometry" for e in _events(log)):
                assert time.monotonic() < deadline, "the Tk window never reported its geometry"
                time.sleep(0.1)
            g = next(e for e in _events(log) if e["event"] == "geometry")
            pay = (g["pay"][0] + g["pay"][2] / 2, g["pay"][1] + g["pay"][3] / 2)
            ok = (g["ok"][0] + g["ok"][2] / 2, g["ok"][1] + g["ok"][3] / 2)
            model = ScriptedModel([click(*pay), click(*ok), FINISH])
            ep = run(
                "press the buttons", env=env, model=model, out=tmp_path / "ep", gate=PolicyGate()
            )
        finally:
            env.close()
    first, second = ep.steps[0]["actions"][0], ep.steps[1]["actions"][0]
    assert first["gate"]["verdict"] == "deny" and first["gate"]["target"]["source"] == "ocr"
    assert "pay now" in first["gate"]["target"]["text"].lower()
    assert "result" not in first
    assert second["gate"]["verdict"] == "allow" and "result" in second
    pressed = [e["button"] for e in _events(log) if e["event"] == "pressed"]
    assert pressed == ["ok"]  # the OK click went through, "Pay now" never did


# ---- android: uiautomator dump on the fake adb server ------------------------------------------

DUMP = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">"
    '<node index="0" text="" class="android.widget.FrameLayout" clickable="false" '
    'bounds="[0,0][1080,2400]">'
    '<node text="" class="android.widget.EditText" password="true" clickable="true" '
    'bounds="[100,600][980,760]" />'
    '<node text="" content-desc="" class="android.widget.Button" clickable="true" '
    'bounds="[100,1000][980,1200]"><node text="Pay now" class="android.widget.TextView" '
    'clickable="false" bounds="[400,1060][680,1140]" /></node>'
    '<node text="Cancel" class="android.widget.Button" clickable="true" '
    'bounds="[100,1300][980,1500]" /></node></hierarchy>\n'
    "UI hierchary dumped to: /dev/tty\n"
)


@pytest.fixture
def android() -> Iterator[tuple[Any, Any]]:
    from envs.android import AndroidEnv
    from envs.android.fake_adb import FakeAdbServer

    transcript = ROOT / "tests" / "envs" / "adb_transcripts" / "pixel_portrait.json"
    with FakeAdbServer(transcript) as fake:
        fake.respond(match="uiautomator dump /dev/tty", stdout=DUMP)
        fake.respond(prefix="monkey ", stdout="Events injected: 1\n")
        env = AndroidEnv(adb_port=fake.port, settle=0)
        try:
            yield env, fake
        finally:
            env.close()


def test_pay_now_is_stopped_on_android_by_the_view_hierarchy(
    android: tuple[Any, Any], tmp_path: Path
) -> None:
    env, fake = android
    model = ScriptedModel([click(540, 1020), click(540, 1400), FINISH])
    ep = run("pay?", env=env, model=model, out=tmp_path / "ep", gate=PolicyGate(confirm="no"))
    first, second = ep.steps[0]["actions"][0], ep.steps[1]["actions"][0]
    assert first["gate"]["verdict"] == "deny"
    assert first["gate"]["target"] == {"text": "Pay now", "source": "uiautomator", "role": "Button"}
    assert second["gate"]["verdict"] == "allow"
    taps = [c for c in fake.commands if c.startswith("input tap")]
    assert taps == ["input tap 540 1400"]  # the Pay now tap was never sent


def test_a_swipe_off_pay_now_is_a_press_too(android: tuple[Any, Any]) -> None:
    """Swipe declares PRESSES (a short one is a tap; "slide to pay" is a swipe): both ends
    are read from the neutral UI tree, and the default rule stops it."""
    env, _ = android
    obs = env.reset()
    d = PolicyGate(confirm="no").check(Swipe(start=(540, 1100), end=(900, 1150)), env, obs)
    assert (d.verdict, d.rule) == ("deny", "irreversible")
    assert d.target is not None and d.target["text"] == "Pay now"
    far = Swipe(start=(540, 1350), end=(540, 1450))  # along "Cancel"
    assert PolicyGate(confirm="no").check(far, env, obs).verdict == "allow"


def test_android_app_allow_list(android: tuple[Any, Any]) -> None:
    env, _ = android
    gate = PolicyGate(Policy(allow_apps=("settings",)))
    obs = env.reset()
    d = gate.check(OpenApp(name="Chrome"), env, obs)
    assert d.verdict == "deny" and d.rule == "apps"
    assert gate.check(OpenApp(name="Settings"), env, obs).verdict == "allow"


# ---- the terminal prompt, through a real pty ---------------------------------------------------

TTY_SCRIPT = r"""
import json, sys
sys.path.insert(0, {examples!r})
from board_env import BoardEnv
from agent.episode.runner import run
from agent.safety.gate import PolicyGate
from model.scripted import ScriptedModel
env = BoardEnv()
click = json.dumps({{"type": "click", "point": [430, 65]}})  # the "Pay now" button
ep = run("pay", env=env, model=ScriptedModel([click]), out={out!r}, gate=PolicyGate(), max_steps=1)
print("RESULT " + json.dumps({{"clicks": env.state.buttons[2].clicks,
                               "gate": ep.steps[0]["actions"][0]["gate"]}}), flush=True)
"""


def test_confirmation_on_a_terminal(tmp_path: Path) -> None:
    script = tmp_path / "tty.py"
    script.write_text(TTY_SCRIPT.format(examples=str(ROOT / "examples"), out=str(tmp_path / "ep")))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        close_fds=True,
    )
    os.close(slave)
    out, answered = b"", False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and b"RESULT" not in out:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
            if not answered and b"[y/N]" in out:
                assert b"Pay now" in out  # the person sees what would be pressed
                os.write(master, b"y\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
    finally:
        proc.wait(timeout=60)
        os.close(master)
    assert answered, out.decode(errors="replace")[-2000:]
    line = next(ln for ln in out.decode().splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    assert result["clicks"] == 1
    assert result["gate"]["verdict"] == "allow"
    assert result["gate"]["confirmation"] == {"by": "terminal", "ok": True}
    assert result["gate"]["target"]["source"] == "ocr"
