"""The house rules hold on the real tree, and the checker sees each breach it promises to see
(planted in a small tree of its own): a cycle through an import inside a function, the
vocabulary importing the loop or Playwright, an env importing the loop."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_imports", ROOT / "tools" / "check_imports.py")
assert _spec is not None and _spec.loader is not None
check = importlib.util.module_from_spec(_spec)
sys.modules["check_imports"] = check
_spec.loader.exec_module(check)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for pkg in ("agent", "agent/core", "agent/episode", "agent/safety", "model", "envs"):
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
        (tmp_path / pkg / "__init__.py").touch()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_real_tree_has_no_cycle_and_a_clean_vocabulary() -> None:
    assert check.breaches(ROOT) == []
    adj, _, _ = check.graph(ROOT)
    assert "agent.core.actions" in adj and "agent.episode.loop" in adj  # it read the tree


def test_the_command_line_exits_0_on_the_real_tree() -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_imports.py")], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 breach(es)" in res.stdout


def test_a_cycle_through_a_deferred_import_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "agent/episode/a.py": "from agent.episode import b\n",
            "agent/episode/b.py": "def f():\n    from agent.episode.a import x\n",
        },
    )
    found = check.breaches(root)
    assert found == ["import cycle: agent.episode.a -> agent.episode.b"]


def test_relative_imports_count_too(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "agent/episode/a.py": "from . import b\n",
            "agent/episode/b.py": "from .a import x\n",
        },
    )
    assert check.breaches(root) == ["import cycle: agent.episode.a -> agent.episode.b"]


def test_the_vocabulary_may_not_import_above_it_or_heavy_io(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "agent/core/env.py": "import playwright.sync_api\n",
            "agent/core/model.py": "def f():\n    import agent.episode.loop\n",
            "agent/episode/loop.py": "from agent.core.env import Env\n",
        },
    )
    found = check.breaches(root)
    assert "agent.core.model:2 the vocabulary imports agent.episode.loop" in found
    assert "agent.core.env:1 the vocabulary imports playwright.sync_api" in found


def test_envs_and_model_use_the_vocabulary_only(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "envs/web.py": "from agent.core.env import Env\nfrom agent.episode import loop\n",
            "agent/episode/loop.py": "",
        },
    )
    assert check.breaches(root) == [
        "envs.web:2 imports agent.episode.loop (envs/model use agent.core)"
    ]


def test_the_rooms_of_agent_point_one_way(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "agent/episode/loop.py": "",
            "agent/safety/gate.py": "def f():\n    from agent.episode.loop import Loop\n",
            "envs/web.py": "import model.ocr\n",
            "model/ocr.py": "",
        },
    )
    found = check.breaches(root)
    assert "agent.safety.gate:2 imports agent.episode.loop (against the layers)" in found
    assert "envs.web:1 imports model.ocr (against the layers)" in found


def test_safety_and_the_judging_rooms_see_envs_only_through_the_vocabulary(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path,
        {
            "envs/android.py": "",
            "agent/safety/targets.py": "def f():\n    from envs.android import node_bounds\n",
            "agent/episode/runner.py": "from envs.android import AndroidEnv\n",  # may
        },
    )
    assert check.breaches(root) == [
        "agent.safety.targets:2 imports envs.android (against the layers)"
    ]
