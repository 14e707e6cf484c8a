"""The reference pages are generated from the code and current: regenerated into a temporary
directory they equal the committed ones, so a flag, setting, step field or action changed
without ``make docs`` fails here. And the generator sees what it promises to see."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import build_parser
from agent.core.actions import action_schema
from model.config import SETTINGS, env_name
from tests.conftest import ROOT, load_tool

gen = load_tool("gen_docs")
DOCS = ROOT / "docs"


def test_committed_reference_pages_are_current(tmp_path: Path) -> None:
    written = gen.generate(tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == set(gen.PAGES)
    for path in written:
        rel = path.relative_to(tmp_path)
        committed = DOCS / rel
        assert committed.is_file(), f"docs/{rel} is missing: run `make docs`"
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"docs/{rel} is stale: run `make docs` (python tools/gen_docs.py) and commit it"
        )


def test_check_mode_names_a_stale_page(tmp_path: Path) -> None:
    gen.generate(tmp_path)
    assert gen.stale(tmp_path) == []
    page = tmp_path / "reference" / "cli.md"
    page.write_text(page.read_text().replace("--max-steps", "--max-stepz", 1))
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_docs.py"), "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    assert "stale: docs/reference/cli.md" in r.stdout and "settings.md" not in r.stdout


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_cli_page_lists_every_subcommand_and_option() -> None:
    page = gen.cli_page()
    for name, p in _subcommands().items():
        assert f"## agent {name}\n" in page
        section = page.split(f"## agent {name}\n", 1)[1].split("\n## agent ", 1)[0]
        for action in p._actions:
            for opt in action.option_strings:
                if opt not in ("-h", "--help"):
                    assert f"`{opt}" in section or f", {opt}" in section, f"{name}: {opt}"


def test_settings_page_lists_every_setting_and_refuses_an_undocumented_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = gen.settings_page()
    for key in SETTINGS:
        assert f"| `{key}` |" in page and f"`{env_name(key)}`" in page
    assert "`agent run --model`" in page  # the flags that set a key are found
    monkeypatch.setitem(gen.SETTINGS, "brand_new", int)
    with pytest.raises(SystemExit, match="brand_new"):
        gen.settings_page()


def test_steps_page_has_every_action_type_field_and_phase() -> None:
    page = gen.steps_page()
    schema = action_schema()
    for model in schema["$defs"].values():
        if "type" in model.get("properties", {}):
            assert f"### `{model['properties']['type']['const']}`" in page
            for field in model["properties"]:
                if field != "type":
                    assert f"| `{field}` |" in page
    for phase in gen.PHASES:
        assert f"- `{phase}` —" in page
    assert '"title": "native-agent action"' in page  # the whole schema is there too


def test_markdown_escaping() -> None:
    assert gen.esc("a|b <think> *x* $NATIVE_AGENT_MODEL") == (
        "a\\|b \\<think\\> \\*x\\* $NATIVE\\_AGENT\\_MODEL"
    )


def _build(root: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml")]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)


def test_strict_build_passes_and_fails_on_a_broken_link_or_an_orphan_page(tmp_path: Path) -> None:
    """The site builds as committed; mkdocs.yml's strict validation refuses a link to a
    missing page, a missing anchor, and a page left out of the nav."""
    import shutil

    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    ok = _build(tmp_path)
    assert ok.returncode == 0, ok.stderr
    page = tmp_path / "docs" / "guides" / "serving.md"
    page.write_text(page.read_text() + "\n[a](nowhere.md) [b](models.md#no-such-heading)\n")
    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n")
    bad = _build(tmp_path)
    assert bad.returncode != 0
    assert "nowhere.md" in bad.stderr and "no-such-heading" in bad.stderr
    assert "orphan.md" in bad.stderr
