"""``agent record`` as a process: --seconds stops it, SIGINT / SIGTERM leave a complete
episode. A headless Chromium on a tiny page; the person is the named test fake
ScriptedSource (NATIVE_AGENT_RECORD_SCRIPT), the real captures are tested with the envs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli import build_parser, main
from agent.commands.record import env_settings, source_for
from agent.core.errors import ConfigError
from agent.episode.recording import load_episode
from agent.record.scripted import SCRIPT_ENV
from board_env import BoardEnv

PAGE = "<html><body><input id=q><button>Go</button></body></html>"
SCRIPT = [
    {"t": 0.2, "kind": "key_down", "key": "h", "text": "h"},
    {"t": 0.3, "kind": "key_down", "key": "i", "text": "i"},
    {"t": 0.4, "kind": "key_down", "key": "tab"},
    {"t": 0.8, "kind": "wheel", "x": 50, "y": 50, "dy": 200},
]


def start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "script.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    out = tmp_path / "ep"
    env = {**os.environ, SCRIPT_ENV: str(tmp_path / "script.json")}
    cmd = [
        sys.executable, "-m", "agent.cli", "record", "--env", "browser",
        "--env-kwargs", '{"headless": true, "viewport": [320, 200]}',
        "--url", (tmp_path / "page.html").as_uri(), "--task", "say hi", "--out", str(out),
        "--interval", "0.3", *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, out


def golden(out: Path) -> list[dict]:
    ep = load_episode(out)
    return [a for r in ep.records for a in r.executed_actions()]


GOLDEN = [
    {"type": "type", "text": "hi", "clear": False, "enter": False},
    {"type": "key", "keys": "tab"},
    {"type": "scroll", "direction": "down", "amount": 2, "point": [50.0, 50.0]},
    {"type": "finish", "status": "success"},
]


@pytest.mark.browser
def test_seconds_stops_with_a_complete_episode(tmp_path: Path) -> None:
    proc, out = start(tmp_path, "--seconds", "2")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert stdout.strip() == str(out)
    ep = load_episode(out)
    assert ep.outcome["status"] == "recorded" and ep.outcome["stopped_by"] == "seconds"
    assert golden(out) == GOLDEN
    assert "4 events" in stderr  # the progress line


@pytest.mark.browser
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_leaves_a_complete_episode(tmp_path: Path, sig: signal.Signals) -> None:
    proc, out = start(tmp_path)  # no --seconds: only the signal ends it
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # wait until the scripted events were recorded
        if (out / "episode.json").exists() and proc.poll() is None:
            time.sleep(2.0)
            break
        time.sleep(0.1)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    ep = load_episode(out)
    assert ep.outcome["stopped_by"] == "interrupt" and ep.torn_lines == 0
    assert golden(out) == GOLDEN


def test_an_env_that_cannot_record_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--env", "android"]) == 2
    assert "browser or desktop" in capsys.readouterr().err


def test_the_browser_is_headed_unless_told() -> None:
    def settings(*argv: str) -> tuple:
        return env_settings(build_parser().parse_args(["record", *argv]))

    assert settings("--url", "https://example.com") == (
        "browser",
        {"headless": False, "url": "https://example.com"},
        "https://example.com",
    )
    assert settings("--env-kwargs", '{"headless": true}')[1] == {"headless": True}
    assert settings("--env", "desktop", "--display", ":3") == ("desktop", {"display": ":3"}, None)


def test_an_env_without_input_recording_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="does not offer 'input_recording'"):
        source_for(BoardEnv())
