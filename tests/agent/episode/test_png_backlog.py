"""The screenshot writer never runs far behind the step lines: on a slow disk the loop waits,
so a crash or a full disk loses at most the PNG being written and the one queued (what
test_crash's full-disk run asserts, and once failed on a loaded machine with ~7 PNGs lost)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from agent.core.observation import Observation
from agent.episode import recording
from agent.episode.recording import EpisodeWriter


def test_step_lines_never_run_more_than_two_screenshots_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = recording._atomic_write

    def slow_disk(path: Path, data: bytes) -> None:
        if path.suffix == ".png":
            time.sleep(0.15)
        real(path, data)

    monkeypatch.setattr(recording, "_atomic_write", slow_disk)
    out = tmp_path / "ep"
    writer = EpisodeWriter(out, {"task": {"goal": "x"}})
    obs = Observation(array=np.zeros((8, 8, 3), np.uint8))
    ahead = []
    for i in range(8):
        name = writer.save_screenshot(i, obs)
        writer.write_step({"index": i, "screenshot": name})
        ahead.append(writer.n_steps - len(list(out.glob("*.png"))))
    writer.finish({"status": "success"})
    assert max(ahead) <= 2, ahead
    assert len(list(out.glob("*.png"))) == 8  # and nothing is dropped at the end
