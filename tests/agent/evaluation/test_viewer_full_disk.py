"""``agent view`` on a disk that cannot take the page (issue 22, item 8): a RecordingError that
names the fix, exit code 2, nothing half-written left behind, an older page left as it was.
The disk is real: a 64 KiB tmpfs where this machine lets us mount one (root), and the
kernel's per-file size limit (RLIMIT_FSIZE) in a child process, which is just as real a
write error and needs no privilege."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent.cli import main
from agent.core.errors import RecordingError
from agent.core.observation import Observation
from agent.episode.recording import EpisodeWriter
from agent.evaluation.viewer import write_view

OLD = b"<html>the page of an earlier view</html>"


def _episode(root: Path) -> Path:
    """One step whose screenshot is noise: the inlined page is well over 64 KiB."""
    out = root / "ep"
    w = EpisodeWriter(out, {"task": {"goal": "look"}})
    noise = np.random.default_rng(0).integers(0, 256, (160, 200, 3), dtype=np.uint8)
    obs = Observation(array=noise)
    w.write_step({"index": 0, "observation": obs.meta(), "screenshot": w.save_screenshot(0, obs),
                  "raw": "{}", "actions": []})  # fmt: skip
    w.finish({"status": "failure", "steps": 1})
    return out


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A mounted 64 KiB tmpfs, or None where mounting is not allowed."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    ok = shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True
    ).returncode == 0  # fmt: skip
    yield mnt if ok else None
    if ok:
        subprocess.run(["umount", str(mnt)], check=False)


def _assert_nothing_half_written(folder: Path) -> None:
    assert (folder / "view.html").read_bytes() == OLD  # the earlier page, untouched
    assert sorted(p.name for p in folder.iterdir()) == ["view.html"]  # no temporary file


RLIMITED = r"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (32_000, 32_000))
from agent.cli import main
sys.exit(main(["view", {ep!r}, "--out", {out!r}, "--no-open"]))
"""


def _view_under_a_size_limit(ep: Path, out: Path) -> subprocess.CompletedProcess[str]:
    code = RLIMITED.format(ep=str(ep), out=str(out))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, small_disk: Path | None, capsys
) -> None:
    ep = _episode(tmp_path)
    folder = small_disk or tmp_path / "limited"
    folder.mkdir(exist_ok=True)
    (folder / "view.html").write_bytes(OLD)
    out = folder / "view.html"
    if small_disk is None:
        res = _view_under_a_size_limit(ep, out)
        assert res.returncode == 2, res.stderr[-2000:]
        assert "cannot write the viewer page" in res.stderr and "--out" in res.stderr
    else:
        with pytest.raises(RecordingError, match="No space left") as info:
            write_view(ep, out)
        assert "free " in str(info.value) and "--out on another disk" in str(info.value)
        assert info.value.code == "recording"
        assert main(["view", str(ep), "--out", str(out), "--no-open"]) == 2
        assert "nothing was written" in capsys.readouterr().err
    _assert_nothing_half_written(folder)


def test_a_file_size_limit_is_the_same_clear_error(tmp_path: Path) -> None:
    ep = _episode(tmp_path)
    folder = tmp_path / "limited"
    folder.mkdir()
    (folder / "view.html").write_bytes(OLD)
    res = _view_under_a_size_limit(ep, folder / "view.html")
    assert res.returncode == 2, res.stderr[-2000:]
    assert "File too large" in res.stderr and "--out on another disk" in res.stderr
    assert "Traceback" not in res.stderr
    _assert_nothing_half_written(folder)
    assert main(["view", str(ep), "--out", str(tmp_path / "ok.html"), "--no-open"]) == 0  # control
    assert (tmp_path / "ok.html").stat().st_size > 64 * 1024
