"""Every command the README shows works: each ``agent …`` line names a real subcommand and
only flags that subcommand accepts, every file it names exists, and the ones that need no
GPU, network, device or dataset are run as written (with ``--out`` into a temporary
directory), the Python examples too."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(README) if kind == lang]


def shell_lines() -> list[str]:
    """Commands of the bash blocks, continuation lines joined, comments dropped."""
    out = []
    for body in blocks("bash"):
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            line = re.sub(r"(^|\s)#\s.*$", "", line).strip()
            if line:
                out.append(line)
    return out


def agent_commands() -> list[list[str]]:
    cmds = []
    for line in shell_lines():
        for part in re.split(r"\s(?:&&|;)\s|\s&\s", line):
            try:
                tokens = shlex.split(part)
            except ValueError:
                tokens = part.split()
            while tokens and re.fullmatch(r"[A-Z_]+=\S*", tokens[0]):
                tokens = tokens[1:]
            if tokens and tokens[0] == "agent":
                cmds.append(tokens[1:])
    return cmds


def subparsers() -> dict[str, object]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)  # type: ignore[attr-defined]


def test_every_agent_command_and_flag_exists() -> None:
    subs = subparsers()
    cmds = agent_commands()
    assert len(cmds) > 30  # the README really was read
    seen = set()
    for argv in cmds:
        assert argv and argv[0] in subs, f"README names `agent {argv[:1]}` which does not exist"
        seen.add(argv[0])
        options = {o for a in subs[argv[0]]._actions for o in a.option_strings}  # type: ignore[attr-defined]
        for tok in argv[1:]:
            flag = tok.strip("[]").split("=")[0]
            if flag.startswith("--"):
                assert flag in options, f"`agent {argv[0]}` has no {flag} (README: {argv})"
    assert {"run", "mcp", "export", "eval", "parse", "schema", "sites"} <= seen


def test_every_file_the_readme_names_exists() -> None:
    named = set(re.findall(r"(?<![\w/])((?:examples|tools|tests)/[\w./-]+\.(?:py|json))", README))
    assert "examples/scripted_flight.json" in named and "examples/board_env.py" in named
    for rel in sorted(named):
        assert (ROOT / rel).exists(), f"README names {rel}, which does not exist"


def run_agent(argv: list[str], cwd: Path, extra_path: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), extra_path) if p)}
    cmd = [sys.executable, "-m", "agent.cli", *argv]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def readme_command(prefix: str) -> list[str]:
    """The README's own ``agent`` line that starts with ``prefix``."""
    for argv in agent_commands():
        if " ".join(argv).startswith(prefix):
            return argv
    raise AssertionError(f"the README has no `agent {prefix}…` line")


@pytest.mark.parametrize("prefix", ["sites", "schema", "parse --format qwen2-vl"])
def test_quick_commands_run(prefix: str) -> None:
    r = run_agent(readme_command(prefix), ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


def test_parse_example_prints_the_worked_point() -> None:
    r = run_agent(readme_command("parse --format qwen2-vl"), ROOT)
    assert "290" in r.stdout and "164" in r.stdout  # DESIGN.md's worked example


def test_board_env_check_runs() -> None:
    line = next(x for x in shell_lines() if "check-env board_env:BoardEnv" in x)
    argv = shlex.split(line)[2:]  # drop PYTHONPATH=examples agent
    r = run_agent(argv, ROOT, str(ROOT / "examples"))
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.browser
def test_scripted_flight_run_then_export(tmp_path: Path) -> None:
    """The command-line section's scripted run (the file the issue found missing), then the
    export section's two lines on that episode, as written except for --out."""
    run_argv = readme_command("run --task flights/book-cheapest --model scripted:")
    ep = tmp_path / "flight"
    argv = [a for a in run_argv if a != "--out"]
    if "--out" in run_argv:
        del argv[run_argv.index("--out")]  # the value after --out
    r = run_agent([*argv, "--out", str(ep), "--quiet"], ROOT)
    assert r.returncode == 0, r.stderr
    assert "success" in r.stderr and "task check: passed" in r.stderr
    export_argv = readme_command("export runs/demo-flight")
    data = tmp_path / "data"
    export_argv = [str(ep) if a == "runs/demo-flight" else a for a in export_argv]
    export_argv[export_argv.index("--out") + 1] = str(data)
    r = run_agent(export_argv, ROOT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["samples"] >= 15  # 18 steps, a few need several calls or are not expressible
    info = json.loads((data / "dataset_info.json").read_text())
    assert out["dataset"] in info and "native_agent_qwen2_5_vl" in README


@pytest.mark.browser
def test_gym_example_runs(tmp_path: Path) -> None:
    code = next(b for b in blocks("python") if "gymnasium.make" in b)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    goal, shape = r.stdout.splitlines()[0].rsplit(" (", 1)
    assert goal == "Click button ONE." and shape == "420, 320, 3)"
    assert r.stdout.splitlines()[1] == "1.0 True"  # the README's click scores
    assert list((tmp_path / "runs" / "gym").iterdir())  # the episode was recorded


def test_mcp_examples_are_valid() -> None:
    code = next(b for b in blocks("python") if "StdioServerParameters" in b)
    compile(code, "README-mcp", "exec")
    args = re.search(r"args=(\[.*?\])", code)
    assert args is not None
    subs = subparsers()
    subs["mcp"].parse_args(json.loads(args.group(1).replace("'", '"'))[1:])  # type: ignore[attr-defined]
    config = json.loads(next(b for b in blocks("json") if "mcpServers" in b))
    server = config["mcpServers"]["native-agent"]
    assert server["command"] == "agent"
    subs["mcp"].parse_args(server["args"][1:])  # type: ignore[attr-defined]
