"""Two builders of the vLLM venv (make test's background build and the tests' own
ensure_venv) never build at once: the second waits on the lock beside the venv and then
reuses what the first built. A real lock file; pip is replaced by a recorder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.conftest import load_tool

vllm_cpu = load_tool("vllm_cpu")


def test_a_second_builder_waits_for_the_first_and_reuses_its_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "vllm-venv"
    ready = threading.Event()
    builds: list[Path] = []
    monkeypatch.setattr(vllm_cpu, "venv_ready", lambda v: ready.is_set())
    monkeypatch.setattr(vllm_cpu, "_build", lambda v, quiet: builds.append(v) or v / "py")
    monkeypatch.setattr(vllm_cpu, "_python", lambda v: v / "py")

    holding = threading.Event()

    def first_builder() -> None:
        with vllm_cpu._build_lock(venv):
            holding.set()
            time.sleep(0.5)
            ready.set()  # what a finished build leaves behind

    t = threading.Thread(target=first_builder)
    t.start()
    assert holding.wait(5)
    assert vllm_cpu.ensure_venv(venv) == venv / "py"  # waited, then reused
    t.join()
    assert builds == []
    assert (tmp_path / ".vllm-venv.lock").exists()


def test_with_nobody_building_it_builds_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "vllm-venv"
    builds: list[Path] = []
    monkeypatch.setattr(vllm_cpu, "venv_ready", lambda v: bool(builds))
    monkeypatch.setattr(vllm_cpu, "_build", lambda v, quiet: builds.append(v) or v / "py")
    monkeypatch.setattr(vllm_cpu, "_python", lambda v: v / "py")
    assert vllm_cpu.ensure_venv(venv) == venv / "py"
    assert vllm_cpu.ensure_venv(venv) == venv / "py"
    assert builds == [venv]
