"""Shared fixtures. Keep this small and generic; test-specific helpers live in their files."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

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


# ---- test tiers ------------------------------------------------------------------------------
# Markers (registered in pyproject.toml): `make test` runs every tier, `make test-fast` all but
# browser, desktop, vllm and slow (FAST_TESTS in the Makefile). A test gets its tier
# automatically when its source, a fixture it uses, or a helper either of them calls (in
# tests/) starts one of the costly parts; explicit marks cover the rest. While an unmarked test
# runs, Chromium and Xvfb refuse to start (in this process and in the subprocesses it starts),
# so a test that escaped its tier fails in every run.

TIERS = ("browser", "desktop", "vllm", "android", "ocr", "slow")
CLASS_RULES = {  # a class called (or subclassed in tests/) → its tier
    "BrowserEnv": "browser",
    "DesktopEnv": "desktop",
    "Xvfb": "desktop",
    "AndroidEnv": "android",
    "FakeAdbServer": "android",
    "OcrEngine": "ocr",
    "OcrModel": "ocr",
    "OcrGrounder": "ocr",
}
SOURCE_RULES = {  # the same classes by name (imported inside a function), and factories
    mark: re.compile("|".join([rf"\b{c}\(" for c, m in CLASS_RULES.items() if m == mark] + extra))
    for mark, extra in {
        "browser": [r"\bsync_playwright\b", r"make_(env|surface)\(\s*['\"]browser"],
        "desktop": [r"make_(env|surface)\(\s*['\"]desktop"],
        "android": [r"make_(env|surface)\(\s*['\"]android"],
        "ocr": [],
    }.items()
}
FIXTURE_RULES = {"vllm_servers": "vllm", "dying_server": "vllm", "vllm_venv": "vllm",
                 "capped_servers": "vllm"}  # fmt: skip
GUARD_BROWSER = "/unmarked-test-started-chromium/mark-the-test-pytest.mark.browser"
GUARD_HINT = "this test is not marked {mark!r} but starts {what}: add @pytest.mark.{mark}"
_CALLS = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _own(obj: Any) -> bool:
    """Defined in a file under tests/ (not pytest's or the project's code)."""
    try:
        return Path(inspect.getsourcefile(obj) or "").is_relative_to(ROOT / "tests")
    except TypeError:
        return False


@functools.cache
def source_marks(func: Callable[..., Any]) -> frozenset[str]:
    """The tiers the source of ``func`` (a test, a fixture) and of the helpers in tests/ it
    calls, transitively, say it needs."""
    found: set[str] = set()
    todo, seen = [inspect.unwrap(func)], set()
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        if inspect.isclass(f):  # an env class, or a subclass of one made in tests/
            found |= {CLASS_RULES[c.__name__] for c in f.__mro__ if c.__name__ in CLASS_RULES}
        if not _own(f):
            continue
        try:
            src = inspect.getsource(f)
        except (OSError, TypeError):
            continue
        found |= {mark for mark, rule in SOURCE_RULES.items() if rule.search(src)}
        scope = getattr(f, "__globals__", {})
        todo += [g for n in _CALLS.findall(src) if callable(g := scope.get(n))]
    return frozenset(found)


def item_marks(item: pytest.Item) -> set[str]:
    """The tiers a collected test needs: its own source and every fixture it uses."""
    marks: set[str] = set()
    func = getattr(item, "function", None)
    if func is not None:
        marks |= source_marks(func)
    info = getattr(item, "_fixtureinfo", None)
    for name, defs in info.name2fixturedefs.items() if info else ():
        if name in FIXTURE_RULES:
            marks.add(FIXTURE_RULES[name])
        for d in defs:
            marks |= source_marks(d.func)
    return marks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        have = {m.name for m in item.iter_markers()}
        for mark in sorted(item_marks(item) - have):
            item.add_marker(mark)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    marks = {m.name for m in item.iter_markers()}
    with contextlib.ExitStack() as stack:
        if "browser" not in marks:
            stack.enter_context(_refuse_chromium())
        if "desktop" not in marks:
            stack.enter_context(_refuse_xvfb(item.config))
        return (yield)


def _refuse(mark: str, what: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(GUARD_HINT.format(mark=mark, what=what))

    return refuse


@contextlib.contextmanager
def _refuse_chromium() -> Iterator[None]:
    from playwright.sync_api import BrowserType

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NATIVE_AGENT_BROWSER", GUARD_BROWSER)  # subprocesses: find_browser fails
        for name in ("launch", "launch_persistent_context"):
            mp.setattr(BrowserType, name, _refuse("browser", "Chromium"))
        yield


@contextlib.contextmanager
def _refuse_xvfb(config: pytest.Config) -> Iterator[None]:
    from envs.desktop.xvfb import Xvfb

    shim = _xvfb_shim(config)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Xvfb, "start", _refuse("desktop", "Xvfb"))
        mp.setenv("PATH", f"{shim}{os.pathsep}{os.environ.get('PATH', '')}")  # subprocesses
        yield


def _xvfb_shim(config: pytest.Config) -> Path:
    """A directory whose ``Xvfb`` says why it refuses to start, made once per session."""
    shim: Path | None = getattr(config, "_xvfb_shim", None)
    if shim is None:
        shim = Path(tempfile.mkdtemp(prefix="tier-shim-"))
        exe = shim / "Xvfb"
        hint = GUARD_HINT.format(mark="desktop", what="Xvfb")
        exe.write_text(f"#!/bin/sh\necho '{hint}' >&2\nexit 3\n")
        exe.chmod(0o755)
        config._xvfb_shim = shim  # type: ignore[attr-defined]
        config.add_cleanup(lambda: shutil.rmtree(shim, ignore_errors=True))
    return shim
