"""Episode recording: one directory per episode, JSON only, readable after a crash.

Layout (DESIGN.md): ``episode.json`` (task, env, model, versions, start/end, outcome),
``steps.jsonl`` (one line per step, appended and flushed when the step ends), ``NNNN.png``
(written by a background thread so PNG work stays off the loop's hot path). A SIGKILL loses
at most the step in flight; the reader skips a torn last line with a warning.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import RecordingError
from envs.base import Observation

SCHEMA_VERSION = 1


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version(), "schema": str(SCHEMA_VERSION)}
    for dist in ("native-agent", "transformers", "torch", "playwright"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def screenshot_name(index: int) -> str:
    return f"{index:04d}.png"


class _PngWriter:
    """Writes screenshots on a daemon thread; errors surface on the next call or close."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._q: queue.Queue[tuple[str, Observation] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="png-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._q.get()
            try:
                if item is None:
                    return
                name, obs = item
                _atomic_write(self.directory / name, obs.png)
            except BaseException as err:
                self._error = err
            finally:
                self._q.task_done()

    def put(self, name: str, obs: Observation) -> None:
        self.raise_pending()
        self._q.put((name, obs))

    def raise_pending(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise RecordingError(f"could not write a screenshot: {err}") from err

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=60)
        self.raise_pending()


class EpisodeWriter:
    """Append-only writer of one episode directory; only listens, never steers the loop."""

    def __init__(self, directory: str | Path, meta: dict[str, Any], *, fsync: bool = False):
        self.dir = Path(directory)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RecordingError(f"cannot create episode directory {self.dir}: {err}") from err
        if (self.dir / "steps.jsonl").exists() and not meta.get("resumed"):
            raise RecordingError(
                f"{self.dir} already holds an episode; choose another --out directory"
            )
        self.fsync = fsync
        self.meta: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "versions": _versions(),
            "started_at": time.time(),
            "ended_at": None,
            "outcome": {"status": "running"},
            **meta,
        }
        self._write_meta()
        self._steps = open(self.dir / "steps.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._png = _PngWriter(self.dir)
        self.n_steps = 0

    def _write_meta(self) -> None:
        try:
            _atomic_write(
                self.dir / "episode.json",
                json.dumps(self.meta, indent=2, default=str).encode("utf-8"),
            )
        except OSError as err:
            raise RecordingError(f"cannot write {self.dir / 'episode.json'}: {err}") from err

    def save_screenshot(self, index: int, obs: Observation) -> str:
        """Queue the PNG of step ``index``; returns its file name for the step line."""
        name = screenshot_name(index)
        self._png.put(name, obs)
        return name

    def write_step(self, step: dict[str, Any]) -> None:
        """Append one step line and flush it to the OS (survives SIGKILL of this process)."""
        line = json.dumps(step, default=str, ensure_ascii=False)
        try:
            self._steps.write(line + "\n")
            self._steps.flush()
            if self.fsync:
                os.fsync(self._steps.fileno())
        except OSError as err:
            raise RecordingError(f"cannot append to {self.dir / 'steps.jsonl'}: {err}") from err
        self.n_steps += 1
        self._png.raise_pending()

    def finish(self, outcome: dict[str, Any]) -> None:
        """Write the outcome and wait for the screenshots still in flight."""
        try:
            self._png.close()
        finally:
            self._steps.close()
            self.meta["ended_at"] = time.time()
            self.meta["outcome"] = outcome
            self.meta["n_steps"] = self.n_steps
            self._write_meta()


# ---- reading -----------------------------------------------------------------------------


@dataclass
class Episode:
    """A recorded episode as read back from disk."""

    dir: Path
    meta: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    torn_lines: int = 0

    @property
    def outcome(self) -> dict[str, Any]:
        return self.meta.get("outcome", {})

    @property
    def success(self) -> bool:
        return self.outcome.get("status") == "success"

    def screenshot_path(self, index: int) -> Path:
        return self.dir / screenshot_name(index)

    def actions(self) -> list[dict[str, Any]]:
        return [a for s in self.steps for a in s.get("actions", [])]


def load_episode(directory: str | Path) -> Episode:
    """Read an episode directory, tolerating a torn last line (skipped with a warning)."""
    d = Path(directory)
    meta_path = d / "episode.json"
    if not meta_path.exists():
        raise RecordingError(f"{d} is not an episode directory (no episode.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RecordingError(f"{meta_path} is not valid JSON: {err}") from err
    steps: list[dict[str, Any]] = []
    torn = 0
    steps_path = d / "steps.jsonl"
    if steps_path.exists():
        lines = steps_path.read_bytes().split(b"\n")
        for n, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                steps.append(json.loads(raw))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                if n >= len(lines) - 1:
                    torn += 1
                    warnings.warn(
                        f"{steps_path}: skipped a torn last line ({len(raw)} bytes)",
                        stacklevel=2,
                    )
                else:
                    raise RecordingError(f"{steps_path}:{n} is corrupt: {err}") from err
    return Episode(dir=d, meta=meta, steps=steps, torn_lines=torn)
