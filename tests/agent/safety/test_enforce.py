"""The verdict held until the input on envs without a dispatch guard (issue 22): the target
is read again right before the input and a change refuses the action. The comparison, and a
real Tk window under Xvfb whose "Show details" button turns into "Delete" after the gate read
it (OCR): refused with the guard on, pressed with ``dispatch_guard=False`` (the control)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent.core.actions import Click
from agent.core.errors import TargetChangedError
from agent.safety.enforce import enforce, same_target
from agent.safety.gate import PolicyGate
from agent.safety.targets import Target, TargetReader

READER = TargetReader()  # one OCR engine for the module


def test_the_same_reading_in_another_spelling_is_the_same_target() -> None:
    judged = {"text": "Show details", "source": "ocr"}
    assert same_target(judged, Target("show  DETAILS", "ocr"))
    assert same_target(judged, Target("Show det\u200bails", "ocr"))  # invisible characters


@pytest.mark.parametrize(
    "now",
    [
        Target("Delete", "ocr"),
        Target("Show details", "uiautomator"),  # another way of reading: not comparable
        Target("Show details", "ocr", href="https://elsewhere.example/"),
        Target("", "unreadable", error="gone"),
        None,
    ],
)
def test_a_changed_reading_is_another_target(now: Target | None) -> None:
    assert not same_target({"text": "Show details", "source": "ocr"}, now)


TK_SWAP = r"""
import json, os, sys, tkinter as tk
log, trigger = open(sys.argv[1], "a", buffering=1), sys.argv[2]
root = tk.Tk(className="SwapFixture")
root.overrideredirect(True)
root.geometry("420x120+20+20")
button = tk.Button(root, text="Show details", width=14, font=("DejaVu Sans", 16),
                   command=lambda: log.write(json.dumps({"event": "pressed",
                                                         "text": button["text"]}) + "\n"))
button.pack(padx=25, pady=30)
def geometry():
    root.update_idletasks()
    log.write(json.dumps({"event": "geometry", "box": [button.winfo_rootx(),
              button.winfo_rooty(), button.winfo_width(), button.winfo_height()]}) + "\n")
def watch():  # the app relabels its button by itself, some time after the gate's read
    if os.path.exists(trigger) and button["text"] != "Delete":
        button.configure(text="Delete")
        root.update_idletasks()
        root.after(200, lambda: log.write(json.dumps({"event": "relabelled"}) + "\n"))
    root.after(30, watch)
root.after(300, geometry)
root.after(30, watch)
root.mainloop()
"""


def _events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def _wait(path: Path, event: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while not any(e["event"] == event for e in _events(path)):
        assert time.monotonic() < deadline, f"the Tk window never logged {event!r}"
        time.sleep(0.05)
    return next(e for e in _events(path) if e["event"] == event)


@pytest.mark.parametrize("guard", [True, False])
def test_a_desktop_label_that_changes_after_the_read_is_refused(
    tmp_path: Path, guard: bool
) -> None:
    from envs.desktop import DesktopEnv, Xvfb

    app, log, trigger = tmp_path / "swap.py", tmp_path / "swap.log", tmp_path / "now"
    app.write_text(TK_SWAP)
    with Xvfb(640, 240) as x:
        env = DesktopEnv(display=x.display, app=[sys.executable, str(app), str(log), str(trigger)])
        try:
            env.reset()
            box = _wait(log, "geometry")["box"]
            click = Click(point=(box[0] + box[2] / 2, box[1] + box[3] / 2))
            gate = PolicyGate(confirm="no", reader=READER, dispatch_guard=guard)
            decision = gate.check(click, env, env.observe())
            assert decision.verdict == "allow", decision.to_json()
            assert "show details" in decision.to_json()["target"]["text"].lower()
            trigger.touch()  # the app's own timer fires between the read and the input
            _wait(log, "relabelled")
            if guard:
                with pytest.raises(TargetChangedError, match="Delete"):
                    enforce(gate, env, click, decision)
            else:
                assert enforce(gate, env, click, decision) is None
                env.step(click)
                _wait(log, "pressed")
        finally:
            env.close()
    pressed = [e["text"] for e in _events(log) if e["event"] == "pressed"]
    assert pressed == ([] if guard else ["Delete"])


def _dump(label: str) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">"
        '<node index="0" text="" class="android.widget.FrameLayout" clickable="false" '
        'bounds="[0,0][1080,2400]">'
        f'<node text="{label}" class="android.widget.Button" clickable="true" '
        'bounds="[100,1000][980,1200]" /></node></hierarchy>\n'
        "UI hierchary dumped to: /dev/tty\n"
    )


@pytest.mark.parametrize("guard", [True, False])
def test_an_android_node_that_changes_after_the_read_is_refused(guard: bool) -> None:
    """On the fake adb server: the view tree says "Show details" when the gate reads it and
    "Delete" right before the tap; the tap is never sent with the guard on."""
    from envs.android import AndroidEnv
    from envs.android.fake_adb import FakeAdbServer

    root = Path(__file__).resolve().parents[3]
    transcript = root / "tests" / "envs" / "adb_transcripts" / "pixel_portrait.json"
    with FakeAdbServer(transcript) as fake:
        fake.respond(match="uiautomator dump /dev/tty", stdout=_dump("Show details"))
        env = AndroidEnv(adb_port=fake.port, settle=0)
        try:
            tap = Click(point=(540.0, 1100.0))
            gate = PolicyGate(confirm="no", dispatch_guard=guard)
            decision = gate.check(tap, env, env.reset())
            assert decision.verdict == "allow" and decision.target is not None
            assert decision.target["text"] == "Show details"
            fake.respond(match="uiautomator dump /dev/tty", stdout=_dump("Delete"))
            if guard:
                with pytest.raises(TargetChangedError, match="Delete"):
                    enforce(gate, env, tap, decision)
            else:
                assert enforce(gate, env, tap, decision) is None
                env.step(tap)
        finally:
            env.close()
        taps = [c for c in fake.commands if c.startswith("input tap")]
    assert taps == ([] if guard else ["input tap 540 1100"])


def test_the_executor_records_the_refusal_and_never_taps() -> None:
    """Through ``execute`` (the agent loop's path): a person approves "Show details" and,
    while they answer, the screen turns it into "Delete"; the step records
    ``target_changed``, ``held`` is never reached and no tap is sent."""
    from agent.episode.executor import execute
    from agent.safety.policy import DEFAULT_RULES, Policy, Rule
    from agent.safety.secrets import Secrets
    from envs.android import AndroidEnv
    from envs.android.fake_adb import FakeAdbServer

    root = Path(__file__).resolve().parents[3]
    transcript = root / "tests" / "envs" / "adb_transcripts" / "pixel_portrait.json"
    with FakeAdbServer(transcript) as fake:
        fake.respond(match="uiautomator dump /dev/tty", stdout=_dump("Show details"))

        def person(request: object) -> bool:  # approves what they saw; the app moves on
            fake.respond(match="uiautomator dump /dev/tty", stdout=_dump("Delete"))
            return True

        ask = Rule("confirm", "ask", actions=("click",), target=("details",))
        gate = PolicyGate(Policy(rules=(ask, *DEFAULT_RULES)), confirm=person)
        env = AndroidEnv(adb_port=fake.port, settle=0)
        try:
            tap = Click(point=(540.0, 1100.0))
            ex = execute(env, gate, Secrets(), env.reset(), tap, {})
        finally:
            env.close()
        taps = [c for c in fake.commands if c.startswith("input tap")]
    assert ex.record["gate"]["verdict"] == "allow"
    assert ex.record["error_code"] == "target_changed" and "held" not in ex.record
    assert isinstance(ex.error, TargetChangedError) and ex.step is None
    assert taps == []
