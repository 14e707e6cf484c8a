"""The shared flags (agent/commands/flags.py): the env, gate and secret flags are declared
once and every command that takes them has the same set; ``--env-kwargs`` and the
conveniences reach the env's constructor (a real Xvfb for the desktop env, the scripted
model) and are recorded in its spec; bad input is a ConfigError naming the fix."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.cli import build_parser, main
from agent.commands import flags
from agent.core.errors import ConfigError
from agent.episode.recording import load_episode

COMMANDS = Path(flags.__file__).parent
USERS = ("run", "bench", "replay", "mcp", "check-env", "calibrate")
ENV_SETTINGS = {flags.KWARGS_FLAG, *(c.flag for c in flags.CONVENIENCES)}
GATE = {"--policy", "--allow-url", "--deny-url", "--yes", "--no-gate"}


def _options(command: str) -> dict[str, argparse.Action]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {o: a for a in sub.choices[command]._actions for o in a.option_strings}


def test_every_command_has_the_same_flags_from_one_module() -> None:
    opts = {c: _options(c) for c in USERS}
    for command, o in opts.items():
        assert set(o) >= ENV_SETTINGS, command  # every env setting flag, everywhere
        same = [(o[f].dest, o[f].help) for f in sorted(ENV_SETTINGS - {flags.KWARGS_FLAG})]
        run = opts["run"]
        assert same == [(run[f].dest, run[f].help) for f in sorted(ENV_SETTINGS - {"--env-kwargs"})]
        assert o[flags.KWARGS_FLAG].dest == "env_kwargs"
    assert {c for c in USERS if "--env" in opts[c]} == {"run", "replay", "mcp", "calibrate"}
    assert {c for c in USERS if set(opts[c]) >= GATE} == {"run", "mcp", "bench", "replay"}
    assert {c for c in USERS if "--secret" in opts[c]} == {"run", "bench", "replay", "mcp"}
    assert {c for c in USERS if "--kwargs" in opts[c]} == {"mcp", "check-env"}  # the old alias


def test_no_command_declares_a_shared_flag_itself() -> None:
    shared = {"--env", "--secret", *GATE, *ENV_SETTINGS, flags.OLD_KWARGS_FLAG}
    for path in sorted(COMMANDS.glob("*.py")):
        if path.name in ("flags.py", "parse.py"):  # parse's --dsf is the parser's, no env
            continue
        declared = set(re.findall(r"add_argument\(\s*\"(--[a-z-]+)\"", path.read_text()))
        assert not declared & shared, f"{path.name} declares {sorted(declared & shared)}"


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["mcp", *argv])


def test_env_from_args() -> None:
    name, kw = flags.env_from_args(_args("--viewport", "800x500", "--headed", "--site", "shop"))
    assert (name, kw) == ("browser", {"viewport": [800, 500], "headless": False, "site": "shop"})
    name, kw = flags.env_from_args(_args("--env", "desktop", "--kwargs", '{"monitor": 0}'))
    assert (name, kw) == ("desktop", {"monitor": 0})  # the deprecated alias still works
    name, kw = flags.env_from_args(_args("--env", "android", "--serial", "emu-1"))
    assert (name, kw) == ("android", {"serial": "emu-1"})
    with pytest.raises(ConfigError, match=r"must be a JSON object: .*got '\{monitor"):
        flags.env_from_args(_args("--env-kwargs", "{monitor: 1}"))
    with pytest.raises(ConfigError, match="JSON object such as"):
        flags.env_from_args(_args("--env-kwargs", "[1]"))
    with pytest.raises(ConfigError, match="--serial is a setting of the android env, not of"):
        flags.env_from_args(_args("--serial", "x"))
    with pytest.raises(ConfigError, match="--viewport is a setting of the browser/miniwob"):
        flags.env_from_args(_args("--env", "desktop", "--viewport", "800x600"))
    with pytest.raises(ConfigError, match="dsf is given twice"):
        flags.env_from_args(_args("--dsf", "2", "--env-kwargs", '{"dsf": 1}'))


def test_run_rejects_a_flag_of_another_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--env", "desktop", "--site", "shop", "--task", "x"]) == 2
    assert "--site is a setting of the browser env" in capsys.readouterr().err


@pytest.fixture(scope="module")
def xvfb() -> Iterator[Any]:
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.fail("Xvfb and xdotool are needed: apt-get install xvfb xdotool (make install does)")
    from envs.desktop import Xvfb

    with Xvfb(800, 600) as x:
        yield x


def test_run_desktop_with_env_kwargs(
    xvfb: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "finish.json"
    finish = {"actions": [{"type": "finish", "status": "success", "answer": "seen"}]}
    script.write_text(json.dumps({"format": "json", "outputs": [json.dumps(finish)]}))
    base = ["run", "--env", "desktop", "--display", xvfb.display, "--task", "look"]
    base += ["--model", f"scripted:{script}", "--quiet"]
    for n, how in enumerate((["--env-kwargs", '{"monitor": 1}'], ["--monitor", "0"])):
        out = tmp_path / f"ep{n}"
        assert main([*base, *how, "--out", str(out)]) == 0, capsys.readouterr().err
        ep = load_episode(out)
        spec = ep.meta["env"]["spec"]
        assert ep.meta["env"]["name"] == "desktop" and spec["display"] == xvfb.display
        assert spec["monitor"] == (1 if n == 0 else 0)
        assert (ep.steps[0]["observation"]["width"], ep.success) == (800, True)
    assert main([*base, "--env-kwargs", '{"monitor": 2}', "--out", str(tmp_path / "bad")]) == 2
    assert "monitor 2 does not exist" in capsys.readouterr().err  # it reached DesktopEnv
