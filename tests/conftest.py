"""Shared fixtures. Keep this small and generic; test-specific helpers live in their files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_tool(name: str) -> ModuleType:
    """Import a script from tools/ (scripts, not a package) by path."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random Qwen2-VL and Qwen2.5-VL checkpoints (model, tokenizer, processor, chat
    template) built once per session by tools/make_tiny_qwen.py: {family: directory}."""
    builder = load_tool("make_tiny_qwen")
    root = tmp_path_factory.mktemp("tiny-qwen")
    return {fam: builder.build_tiny(root / fam, fam) for fam in builder.FAMILIES}
