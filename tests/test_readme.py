"""Every command the README and the documentation pages (``docs/**/*.md``) show works.

* each ``agent …`` line names a real subcommand and parses with ``build_parser()`` as
  written (a line with a placeholder — ``…``, ``[optional]``, ``a|b`` — has each of its
  flags checked against that subcommand instead);
* each ``make X`` names a real Makefile target, and the README's test command is the one
  ``.ci/run`` runs;
* each file named (``examples/…``, ``tools/…``, ``tests/…``) exists, and the README's
  links into ``docs/`` resolve, anchors included;
* the Python blocks compile, the TOML, JSON and YAML blocks parse;
* the ones that need no GPU, network, device or dataset are run as written (with ``--out``
  into a temporary directory): ``agent sites`` / ``schema`` / ``parse``, the board env
  check and conformance snippet, the scripted flight run followed by its export, viewer
  and episode-reading snippet, the Gymnasium example.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from agent.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES: dict[str, str] = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
PAGES |= {
    str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
    for p in sorted((ROOT / "docs").rglob("*.md"))
}
README = PAGES["README.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
PLACEHOLDER = re.compile(r"…|\||^\[|\]$")


def blocks(lang: str, page: str | None = None) -> list[tuple[str, str]]:
    """(page, body) of every fenced block in ``lang``, of one page or of all."""
    names = [page] if page else list(PAGES)
    return [(n, body) for n in names for kind, body in FENCE.findall(PAGES[n]) if kind == lang]


def shell_lines(page: str | None = None) -> list[tuple[str, str]]:
    """Commands of the bash blocks, continuation lines joined, comments dropped."""
    out = []
    for name, body in blocks("bash", page):
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            line = re.sub(r"(^|\s)#\s.*$", "", line).strip()
            if line:
                out.append((name, line))
    return out


def commands(program: str, page: str | None = None) -> list[tuple[str, list[str]]]:
    """(page, argv after ``program``) of every command line that runs ``program``."""
    cmds = []
    for name, line in shell_lines(page):
        for part in re.split(r"\s(?:&&|;)\s|\s&\s", line):
            try:
                tokens = shlex.split(part)
            except ValueError:
                tokens = part.split()
            while tokens and re.fullmatch(r"[A-Z_]+=\S*", tokens[0]):
                tokens = tokens[1:]
            if tokens and tokens[0] == program:
                cmds.append((name, tokens[1:]))
    return cmds


def subparsers() -> dict[str, object]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)  # type: ignore[attr-defined]


def test_every_agent_command_parses(capsys: pytest.CaptureFixture[str]) -> None:
    subs = subparsers()
    cmds = commands("agent")
    assert len(cmds) > 40  # the pages really were read
    assert len(commands("agent", "README.md")) >= 8
    seen = set()
    for page, argv in cmds:
        assert argv and argv[0] in subs, f"{page} names `agent {argv[:1]}` which does not exist"
        seen.add(argv[0])
        if any(PLACEHOLDER.search(tok) for tok in argv):
            options = {o for a in subs[argv[0]]._actions for o in a.option_strings}  # type: ignore[attr-defined]
            for tok in argv[1:]:
                flag = tok.strip("[]").split("=")[0]
                if flag.startswith("--"):
                    assert flag in options, f"`agent {argv[0]}` has no {flag} ({page}: {argv})"
            continue
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            err = capsys.readouterr().err.strip().splitlines()[-1:]
            msg = f"{page}: `agent {shlex.join(argv)}` does not parse: {err}"
            raise AssertionError(msg) from exc
    assert set(subs) <= seen, f"no page shows {sorted(set(subs) - seen)}"


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m for line in text.splitlines() for m in re.findall(r"^([\w.-]+)\s*:(?!=)", line)}


def test_every_make_target_exists() -> None:
    targets = make_targets()
    shown = commands("make")
    assert len(shown) >= 5
    for page, argv in shown:
        names = [a for a in argv if not re.fullmatch(r"[A-Z_]+=\S*", a) and not a.startswith("-")]
        for name in names:
            assert name in targets, f"{page} shows `make {name}`, which the Makefile lacks"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    assert ["test"] in [argv for _, argv in commands("make", "README.md")]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [ln for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")][-1] == (
        "make test"
    )


def test_every_file_the_pages_name_exists() -> None:
    pattern = r"(?<![\w/.])((?:examples|tools|tests)/[\w./-]+\.(?:py|json))"
    named = {(page, rel) for page, text in PAGES.items() for rel in re.findall(pattern, text)}
    assert ("docs/getting-started.md", "examples/scripted_flight.json") in named
    assert any(rel == "examples/board_env.py" for _, rel in named)
    for page, rel in sorted(named):
        assert (ROOT / rel).exists(), f"{page} names {rel}, which does not exist"


def slug(heading: str) -> str:
    """The anchor MkDocs gives a heading (its toc extension's default slugify)."""
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_readme_links_resolve() -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", README)
    local = [x for x in links if not re.match(r"\w+://", x)]
    assert len(local) >= 8
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path
        assert target.is_file(), f"README links to {path}, which does not exist"
        if anchor:
            heads = re.findall(r"^#+\s+(.*)$", target.read_text(encoding="utf-8"), re.M)
            assert anchor in {slug(h) for h in heads}, f"README links to {link}: no such heading"


def test_code_blocks_are_well_formed() -> None:
    py = blocks("python")
    assert len(py) >= 5
    for page, code in py:
        compile(code, page, "exec")
    for page, body in blocks("toml"):
        assert isinstance(tomllib.loads(body), dict), page  # raises naming the line
    for page, body in blocks("json"):
        assert isinstance(json.loads(body), dict), page
    for page, body in blocks("yaml"):
        assert isinstance(yaml.safe_load(body), dict), page
    assert blocks("toml") and blocks("json") and blocks("yaml")


def run_agent(argv: list[str], cwd: Path, extra_path: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), extra_path) if p)}
    cmd = [sys.executable, "-m", "agent.cli", *argv]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def shown_command(prefix: str) -> list[str]:
    """The first ``agent`` line of the pages that starts with ``prefix`` (README first)."""
    for _, argv in commands("agent"):
        if " ".join(argv).startswith(prefix):
            return argv
    raise AssertionError(f"no page has an `agent {prefix}…` line")


@pytest.mark.parametrize("prefix", ["sites", "schema", "parse --format qwen2-vl"])
def test_quick_commands_run(prefix: str) -> None:
    r = run_agent(shown_command(prefix), ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


@pytest.mark.parametrize(
    ("prefix", "point"),
    [("parse --format qwen2-vl", [290, 164]), ("parse --format ui-tars-1.5", [196, 519])],
)
def test_parse_examples_print_the_worked_points(prefix: str, point: list[int]) -> None:
    r = run_agent(shown_command(prefix), ROOT)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["input_point"] == point  # the coordinate page's examples


def test_board_env_check_and_conformance_run() -> None:
    line = next(x for _, x in shell_lines() if "check-env board_env:BoardEnv" in x)
    argv = shlex.split(line)[2:]  # drop PYTHONPATH=examples agent
    r = run_agent(argv, ROOT, str(ROOT / "examples"))
    assert r.returncode == 0, r.stdout + r.stderr
    code = next(b for _, b in blocks("python") if "assert_conforms" in b)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "examples")])}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr


@pytest.mark.browser
def test_scripted_flight_run_then_export_view_and_read(tmp_path: Path) -> None:
    """The scripted run as the pages show it, then the export, the viewer and the
    episode-reading snippet on that episode, as written except for the paths."""
    run_argv = shown_command("run --task flights/book-cheapest --model scripted:")
    ep = tmp_path / "flight"
    argv = list(run_argv)
    if "--out" in argv:
        del argv[argv.index("--out") : argv.index("--out") + 2]
    r = run_agent([*argv, "--out", str(ep), "--quiet"], ROOT)
    assert r.returncode == 0, r.stderr
    assert "success" in r.stderr and "task check: passed" in r.stderr
    export_argv = shown_command("export runs/demo-flight")
    data = tmp_path / "data"
    export_argv = [str(ep) if a == "runs/demo-flight" else a for a in export_argv]
    export_argv[export_argv.index("--out") + 1] = str(data)
    r = run_agent(export_argv, ROOT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["samples"] >= 15  # 18 steps, a few need several calls or are not expressible
    info = json.loads((data / "dataset_info.json").read_text())
    config = yaml.safe_load(next(b for _, b in blocks("yaml") if "dataset_dir" in b))
    assert out["dataset"] in info and config["dataset"] == out["dataset"]
    view_argv = [str(ep) if a == "runs/demo-flight" else a for a in shown_command("view runs/")]
    r = run_agent([*view_argv, "--no-open"], ROOT)
    assert r.returncode == 0, r.stderr
    assert (ep / "view.html").stat().st_size > 1000
    code = next(b for _, b in blocks("python") if "load_episode(" in b)
    code = code.replace('"runs/demo-flight"', repr(str(ep)))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) >= 15 and lines[0].startswith("0 [{")


@pytest.mark.browser
def test_gym_example_runs(tmp_path: Path) -> None:
    code = next(b for _, b in blocks("python") if "gymnasium.make" in b)
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
    assert r.stdout.splitlines()[1] == "1.0 True"  # the page's click scores
    assert list((tmp_path / "runs" / "gym").iterdir())  # the episode was recorded


def test_mcp_examples_are_valid() -> None:
    code = next(b for _, b in blocks("python") if "StdioServerParameters" in b)
    compile(code, "docs-mcp", "exec")
    args = re.search(r"args=(\[.*?\])", code)
    assert args is not None
    subs = subparsers()
    subs["mcp"].parse_args(json.loads(args.group(1).replace("'", '"'))[1:])  # type: ignore[attr-defined]
    config = json.loads(next(b for _, b in blocks("json") if "mcpServers" in b))
    server = config["mcpServers"]["native-agent"]
    assert server["command"] == "agent"
    subs["mcp"].parse_args(server["args"][1:])  # type: ignore[attr-defined]
