"""The recorder end to end on a real env (examples/board_env.py) with the named test fake
ScriptedSource standing in for a capture (the real captures are tested with the envs)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from agent.core.actions import Click, Key, Scroll, Type
from agent.core.inputs import RawEvent
from agent.episode.recording import load_episode
from agent.export.samples import ExportConfig, Exporter
from agent.record.recorder import LATE_S, Shot, _Shots, pair, record, recording_gate
from agent.record.scripted import ScriptedSource
from agent.replay.live import load_png, replay_live
from agent.safety.gate import AllowAll
from agent.safety.policy import Policy
from board_env import BoardEnv

OK, FIELD, PAY = (100.0, 65.0), (240.0, 220.0), (430.0, 65.0)
PASSWORD_FIELD = {
    "tag": "input", "editable": True, "password": True, "box": [40, 200, 440, 240],
    "value": "An",  # what a capture might read of the field: never recorded
}  # fmt: skip


def _field(mark: str) -> dict:
    """The password field as a capture reports it: ``password`` (an element read) or the
    browser capture's ``secret`` mark."""
    out = {k: v for k, v in PASSWORD_FIELD.items() if k != "password"}
    return {**out, mark: True}


def script(password: bool = True, mark: str = "password") -> list[RawEvent]:
    """A person: clicks OK, clicks the field, types 'Ann' + Enter, clicks Pay now, scrolls
    three notches, presses ctrl+a (seconds after the start; moves in between)."""
    ev: list[RawEvent] = [RawEvent(0.2, "move", 90, 60)]

    def click(t: float, p: tuple[float, float], target: dict | None = None) -> None:
        ev.append(RawEvent(t, "down", *p, button="left", target=target))
        ev.append(RawEvent(t + 0.05, "up", *p, button="left"))

    click(0.3, OK, {"tag": "button", "text": "OK", "box": [40, 40, 160, 90]})
    click(0.9, FIELD, {"tag": "input", "editable": True, "box": [40, 200, 440, 240]})
    for i, ch in enumerate("Ann"):
        mods = ("shift",) if ch.isupper() else ()
        ev.append(
            RawEvent(1.5 + 0.1 * i, "key_down", key=ch.lower(), text=ch, modifiers=mods,
                     target=_field(mark) if password else None)
        )  # fmt: skip
    ev.append(RawEvent(1.85, "key_down", key="enter"))
    ev.append(RawEvent(2.3, "move", 420, 60))
    click(2.5, PAY, {"tag": "button", "text": "Pay now (0)", "box": [360, 40, 500, 90]})
    for i in range(3):
        ev.append(RawEvent(3.1 + 0.05 * i, "wheel", 300, 300, dy=100))
    ev.append(RawEvent(3.7, "key_down", key="a", modifiers=("ctrl",)))
    return ev


GOLDEN = [
    Click(point=OK),
    Click(point=FIELD),
    Type(text="Ann", enter=True),
    Click(point=PAY),
    Scroll(direction="down", amount=3, point=(300.0, 300.0)),
    Key(keys="ctrl+a"),
]


def performer(env: BoardEnv):
    """What the board does with each raw event, as it would with the person's input."""

    def perform(ev: RawEvent) -> None:
        if ev.kind == "up":
            env.step(Click(point=(ev.x, ev.y)))
        elif ev.kind == "key_down" and ev.text:
            env.step(Type(text=ev.text))
        elif ev.kind == "key_down" and ev.key == "enter":
            env.step(Key(keys="enter"))
        elif ev.kind == "wheel":
            env.step(Scroll(direction="down", amount=1))

    return perform


def run_recording(
    tmp_path: Path, password: bool = True, mark: str = "password", **kw
) -> tuple[Path, BoardEnv]:
    env = BoardEnv()
    out = tmp_path / "ep"
    source = ScriptedSource(script(password, mark), perform=performer(env))
    done = threading.Event()

    def progress(p) -> None:
        if source.done:
            done.set()

    kw.setdefault("seconds", 30)
    record(
        env, source, out, task="greet Ann and pay", interval=0.25, settle=0.1,
        stop=done, on_progress=progress, **kw,
    )  # fmt: skip
    return out, env


@pytest.mark.parametrize("mark", ["password", "secret"])
def test_recorded_episode_is_golden_paired_and_judged(tmp_path: Path, mark: str) -> None:
    # the gate reads what the capture read (pixel reading off: no OCR in this test)
    gate = recording_gate(Policy(pixel_target=False))
    out, env = run_recording(tmp_path, mark=mark, gate=gate)
    env.close()
    ep = load_episode(out)
    assert ep.outcome["status"] == "recorded" and ep.outcome["events"] == len(script())
    recs = ep.records
    acts = [r.executed_actions()[0] for r in recs]
    # text typed into a password field is recorded as a placeholder; a finish ends it
    golden = [a.model_dump(mode="json", exclude_none=True) for a in GOLDEN]
    golden[2]["text"] = "{{secret:password}}"
    assert ep.meta["secrets"]["names"] == ["password"]
    assert '"An"' not in (out / "steps.jsonl").read_text(encoding="utf-8")
    assert acts == [*golden, {"type": "finish", "status": "success"}]
    for r in recs:
        assert r.line["recorded"]["screenshot_t"] < r.line["recorded"]["start"]
        assert (out / r.screenshot).exists()
        assert r.actions[0].gate is not None and r.actions[0].gate["enforced"] is False
    # gold: the box the capture read for the OK click
    assert recs[0].gold is not None and recs[0].gold["boxes"] == [[40.0, 40.0, 160.0, 90.0]]
    # the gate's verdict on "Pay now" (the element the capture read): it would ask
    pay = recs[3].actions[0].gate
    assert pay["verdict"] == "deny" and pay.get("asks") and pay["rule"] == "irreversible"
    assert recs[0].actions[0].gate["verdict"] == "allow"
    # the screenshot of the second click shows the first one's effect (OK (1)), no later
    shot_ok = load_png(out / recs[0].screenshot)
    shot_field = load_png(out / recs[1].screenshot)
    assert not np.array_equal(shot_ok, shot_field)
    assert env.state.text == "Ann"


def test_no_future_leakage() -> None:
    """pair(): the last screenshot strictly before the action; one stamped at the same
    instant or after is never used."""
    obs = BoardEnv().reset()
    shots = [Shot(1.0, obs), Shot(2.0, obs), Shot(3.0, obs)]
    assert pair(shots, 2.0) is shots[0]
    assert pair(shots, 2.5) is shots[1]
    assert pair(shots, 9.0) is shots[2]
    assert pair(shots, 1.0) is None


def test_screenshots_no_action_can_pair_with_are_dropped() -> None:
    """Memory stays bounded by the bursts of input, not the length of the recording; every
    screenshot an action can still be paired with is kept."""
    env = BoardEnv()
    obs = env.reset()
    shots = _Shots(env)
    shots.kept = [Shot(float(t), obs) for t in range(1, 8)]
    events = [2.5, 3.0, 6.5]  # after shot 2 (and at 3.0: shot 2 is the last strictly before)
    shots.prune(events, now=6.0 + LATE_S)
    kept = [s.t for s in shots.kept]
    # 1: the first; 2: events follow it; 6 (event 6.5 after it) and 7 (the last): kept;
    # 3, 4 and 5 are followed by no event before the next screenshot
    assert kept == [1.0, 2.0, 6.0, 7.0]
    assert all(pair(shots.kept, t) is not None and pair(shots.kept, t).t < t for t in events)
    # a screenshot younger than LATE_S waits: a capture may still deliver an event before it
    shots.kept = [Shot(float(t), obs) for t in range(1, 5)]
    shots.prune([], now=3.0 + LATE_S / 2)
    assert [s.t for s in shots.kept] == [1.0, 2.0, 3.0, 4.0]


def test_episode_exports_and_replays(tmp_path: Path) -> None:
    out, env = run_recording(tmp_path, password=False, gate=AllowAll())
    env.close()
    ex = Exporter(ExportConfig(family="qwen2.5-vl"), tmp_path / "export")
    samples = ex.episode(load_episode(out))
    # every step a sample; "Ann" + enter is two (Qwen2.5-VL answers one call per turn)
    assert len(samples) == len(GOLDEN) + 2 and ex.stats.skipped == {}
    assert ex.stats.split == {"qwen2.5-vl": 1}
    fresh = BoardEnv()
    report = replay_live(out, env=fresh, out=tmp_path / "replay", gate=AllowAll())
    fresh.close()
    assert not report.diverged, report.to_json()
    assert len(report.steps) == len(GOLDEN) + 1


def test_closing_the_program_ends_the_recording_with_what_was_done(tmp_path: Path) -> None:
    env = BoardEnv()
    events = [
        RawEvent(0.2, "down", *OK, button="left"),
        RawEvent(0.25, "up", *OK, button="left"),
        RawEvent(0.8, "key_down", key="escape"),  # the fake closes the board here
    ]

    def perform(ev: RawEvent) -> None:
        if ev.kind == "up":
            env.step(Click(point=OK))
        elif ev.kind == "key_down":
            env.close()

    out = tmp_path / "ep"
    record(env, ScriptedSource(events, perform=perform), out, task="t", seconds=30,
           interval=0.2, settle=0.1, gate=AllowAll())  # fmt: skip
    ep = load_episode(out)
    assert ep.outcome["stopped_by"] == "env_closed" and "error" not in ep.outcome
    acts = [a["type"] for r in ep.records for a in r.executed_actions()]
    assert acts == ["click", "key", "finish"]
