"""The fast capture's fallback on real headless Chromium, with one injected CDP failure
(tests/envs/faults.py): a transient failure is retried fast on the next capture, a
"not supported" one is remembered, and every slow screenshot is counted — on the
observation and in the step line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent.episode.recording import load_episode
from agent.interfaces.gym import NativeAgentEnv
from tests.envs.faults import FlakyCapture

PAGE = """<!doctype html><title>flaky</title><body style="margin: 0">
<button style="position: absolute; left: 40px; top: 40px; width: 120px; height: 40px"
        onclick="this.textContent = 'done'">OK</button></body>"""


@pytest.fixture
def page_url(tmp_path: Path) -> str:
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    return path.as_uri()


@pytest.fixture
def env(page_url: str) -> Iterator[FlakyCapture]:
    e = FlakyCapture()
    e.reset(url=page_url)
    try:
        yield e
    finally:
        e.close()


def test_a_transient_cdp_failure_is_retried_next_capture(env: FlakyCapture) -> None:
    fast = env.observe()
    assert "capture_fallback" not in fast.timings
    env.fail_next = "transient"
    slow = env.observe()
    assert slow.timings["capture_fallback"] == 1.0  # the slow path, counted
    assert np.array_equal(slow.array, fast.array)  # the same pixels all the same
    calls = env.fast_calls
    again = env.observe()
    assert env.fast_calls == calls + 1  # the fast path was tried again ...
    assert "capture_fallback" not in again.timings  # ... and served the capture


def test_an_unsupported_capture_is_remembered(env: FlakyCapture) -> None:
    env.fail_next = "unsupported"
    assert env.observe().timings["capture_fallback"] == 1.0
    calls = env.fast_calls
    for _ in range(2):
        assert env.observe().timings["capture_fallback"] == 1.0
    assert env.fast_calls == calls  # not tried again on this page


def test_the_fallback_is_counted_in_the_step_line(page_url: str, tmp_path: Path) -> None:
    native = FlakyCapture()
    gym = NativeAgentEnv(native, "press OK", url=page_url, record_dir=tmp_path, no_gate=True)
    try:
        gym.reset()
        directory = gym.episode_dir
        assert directory is not None
        native.fail_next = "transient"  # the capture after the click
        gym.step(json.dumps({"type": "click", "point": [100, 60]}))
        gym.step(json.dumps({"type": "wait", "seconds": 0}))
        gym.session.end("closed")
    finally:
        gym.close()
    first, second = load_episode(directory).steps
    assert first["timings"]["capture_fallback"] == 1.0
    assert "capture_fallback" not in second["timings"]
