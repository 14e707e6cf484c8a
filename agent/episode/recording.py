"""Episode recording: one directory per episode, JSON only, readable after a crash.

Layout (docs/concepts/episodes.md): ``episode.json`` (task, env, model, versions, start/end,
outcome), ``steps.jsonl`` (one line per step, appended and flushed when the step ends),
``NNNN.png`` (written by a background thread so PNG work stays off the loop's hot path, at
most two behind), ``attachments/`` (the whole text of any recorded string over its bound,
:mod:`agent.episode.bounds`). A SIGKILL loses at most the step in flight and those two
screenshots; the reader skips a torn last line with a warning.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import queue
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.errors import RecordingError
from agent.core.observation import Observation
from agent.episode.bounds import attachment_bytes, attachment_name, bound, resolve
from agent.episode.steps import StepRecord, loads_bounded, parse_step_lines, records

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
    """Write via a temporary file and rename, so a reader never sees half a file; the
    temporary file is removed when the write fails (a full disk keeps no debris)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def json_line(obj: Any) -> bytes:
    """One JSON line, UTF-8. Any string is recorded: one that cannot be UTF-8 (a lone
    surrogate from a page title or a model's output) is written with JSON escapes
    (``\\ud800``), which every JSON reader reads back to the same string."""
    text = json.dumps(obj, default=str, ensure_ascii=False)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, default=str, ensure_ascii=True) + "\n").encode("ascii")


def screenshot_name(index: int) -> str:
    return f"{index:04d}.png"


PNG_BACKLOG = 1  # screenshots queued behind the one being written: a step waits past that


class _PngWriter:
    """Writes screenshots on a daemon thread; errors surface on the next call or close.
    The queue is bounded: on a slow disk the loop waits rather than run ahead, so a crash or
    a full disk loses at most the screenshot being written and the one queued."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._q: queue.Queue[tuple[str, Observation] | None] = queue.Queue(PNG_BACKLOG)
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
                if self._error is None:  # after a failure (full disk) stop writing
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


RESERVE_BYTES = 64 * 1024  # kept free for the final episode.json when the disk fills up
RESERVE_NAME = ".reserve"


class EpisodeWriter:
    """Append-only writer of one episode directory; only listens, never steers the loop.

    ``scrub`` (e.g. :meth:`agent.safety.secrets.Secrets.scrub`) is applied to every step line and
    to episode.json before they are written. A small reserve file is allocated at start and
    released before the final episode.json is written, so a full disk still ends with a
    readable episode whose outcome says what happened. A step line that cannot be written
    whole is cut back, so steps.jsonl never holds a torn line from a full disk.
    """

    def __init__(
        self,
        directory: str | Path,
        meta: dict[str, Any],
        *,
        fsync: bool = False,
        scrub: Callable[[Any], Any] | None = None,
        reserve_bytes: int = RESERVE_BYTES,
        _resume: bool = False,
    ):
        self.dir = Path(directory)
        self.scrub = scrub
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RecordingError(f"cannot create episode directory {self.dir}: {err}") from err
        steps_path = self.dir / "steps.jsonl"
        if steps_path.exists() and not (_resume or meta.get("resumed")):
            raise RecordingError(
                f"{self.dir} already holds an episode; choose another --out directory"
            )
        self.fsync = fsync
        self._reserve = self.dir / RESERVE_NAME
        if reserve_bytes > 0:
            try:
                with open(self._reserve, "wb") as fh:
                    fh.write(b"\0" * reserve_bytes)
            except OSError as err:
                with contextlib.suppress(OSError):
                    self._reserve.unlink()
                raise RecordingError(f"no space for an episode in {self.dir}: {err}") from err
        if _resume:
            self.meta = dict(meta)
        else:
            self.meta = {
                "schema_version": SCHEMA_VERSION,
                "versions": _versions(),
                "started_at": time.time(),
                "ended_at": None,
                "outcome": {"status": "running"},
                **meta,
            }
        self._write_meta()
        try:
            self._steps = open(steps_path, "ab", buffering=0)  # noqa: SIM115
            self._good = self._steps.seek(0, os.SEEK_END)
        except OSError as err:
            raise RecordingError(f"cannot open {steps_path}: {err}") from err
        self._png = _PngWriter(self.dir)
        self.n_steps = 0
        self._failed: RecordingError | None = None

    @classmethod
    def reopen(
        cls, directory: str | Path, *, scrub: Callable[[Any], Any] | None = None, **kw: Any
    ) -> EpisodeWriter:
        """Continue an episode (``agent run --resume``): a torn last line is cut off, the
        outcome goes back to running, new steps are appended after the recorded ones."""
        d = Path(directory)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ep = load_episode(d)
        steps_path = d / "steps.jsonl"
        kept = len(ep.steps)
        if steps_path.exists():
            data = steps_path.read_bytes()
            keep = len(data) if data.endswith(b"\n") or not data else data.rfind(b"\n") + 1
            if ep.torn_lines or keep != len(data):
                with open(steps_path, "r+b") as fh:
                    fh.truncate(keep)
                # a last line cut just before its newline parses, yet is cut: count what stays
                kept = len(parse_step_lines(data[:keep], steps_path)[0])
        meta = dict(ep.meta)
        meta.setdefault("resumes", []).append(
            {"at": time.time(), "from_step": kept, "previous_outcome": ep.outcome}
        )
        meta["outcome"], meta["ended_at"] = {"status": "running"}, None
        writer = cls(d, meta, scrub=scrub, _resume=True, **kw)
        writer.n_steps = kept
        return writer

    def _clean(self, obj: Any) -> Any:
        return self.scrub(obj) if self.scrub is not None else obj

    def _spill(self, text: str) -> dict[str, Any]:
        """Write ``text`` once as an attachment (atomically; a text already written is not
        written again) and return its reference (:mod:`agent.episode.bounds`)."""
        data = attachment_bytes(text)
        name, digest = attachment_name(data)
        path = self.dir / name
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            _atomic_write(path, data)
        return {"file": name, "chars": len(text), "bytes": len(data), "sha256": digest}

    def _spill_or_keep(self, text: str) -> dict[str, Any]:
        """:meth:`_spill` for episode.json: when the attachment cannot be written (a full
        disk at the end of an episode) the text stays cut and the reference says why, so the
        outcome is still written."""
        try:
            return self._spill(text)
        except OSError as err:
            digest = attachment_name(attachment_bytes(text))[1]
            return {"file": None, "chars": len(text), "sha256": digest, "error": str(err)}

    def _bounded(self, obj: dict[str, Any]) -> dict[str, Any]:
        """``obj`` scrubbed, then every string within its bound (scrub first: a cut never
        leaves a secret's prefix behind)."""
        return bound(self._clean(obj), self._spill)

    def _write_meta(self) -> None:
        meta = bound(self._clean(self.meta), self._spill_or_keep)
        data = json.dumps(meta, indent=2, default=str).encode("utf-8")
        try:
            _atomic_write(self.dir / "episode.json", data)
        except OSError as err:
            raise RecordingError(f"cannot write {self.dir / 'episode.json'}: {err}") from err

    def save_screenshot(self, index: int, obs: Observation) -> str:
        """Queue the PNG of step ``index``; returns its file name for the step line."""
        name = screenshot_name(index)
        self._png.put(name, obs)
        return name

    def write_step(self, step: dict[str, Any]) -> None:
        """Append one step line and flush it to the OS (survives SIGKILL of this process).
        A line the disk cannot take whole is cut back and a RecordingError raised."""
        if self._failed is not None:
            raise self._failed
        try:
            line = json_line(self._bounded(step))
        except OSError as err:  # an attachment the disk cannot take: nothing of it is left
            self._failed = RecordingError(
                f"cannot write an attachment in {self.dir / 'attachments'}: {err}"
            )
            raise self._failed from err
        try:
            view = memoryview(line)
            while view:
                n = self._steps.write(view)
                view = view[n:]
            if self.fsync:
                os.fsync(self._steps.fileno())
        except OSError as err:
            with contextlib.suppress(OSError):
                self._steps.truncate(self._good)
            self._failed = RecordingError(f"cannot append to {self.dir / 'steps.jsonl'}: {err}")
            raise self._failed from err
        self._good += len(line)
        self.n_steps += 1
        self._png.raise_pending()

    def finish(self, outcome: dict[str, Any]) -> None:
        """Write the outcome and wait for the screenshots still in flight. A screenshot
        that failed is named in the outcome (and raised) after episode.json is written."""
        pending: RecordingError | None = None
        try:
            self._png.close()
        except RecordingError as err:
            pending = err
            if "error" not in outcome:
                outcome = {**outcome, "error": str(err), "error_type": "RecordingError"}
        with contextlib.suppress(OSError):
            self._steps.close()
        with contextlib.suppress(OSError):
            self._reserve.unlink()  # the space the final episode.json needs
        self.meta["ended_at"] = time.time()
        self.meta["outcome"] = outcome
        self.meta["n_steps"] = self.n_steps
        self._write_meta()
        if pending is not None:
            raise pending


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

    @property
    def records(self) -> list[StepRecord]:
        """The step lines typed (:mod:`agent.episode.steps`): one definition of what ran."""
        return records(self.steps)


def load_episode(directory: str | Path, *, full: bool = True) -> Episode:
    """Read an episode directory, tolerating a torn last line (skipped with a warning).
    ``full``: every string cut to its bound is restored from its attachment (what replay,
    resume, export and metrics need); ``full=False`` keeps the cut strings (the viewer)."""
    d = Path(directory)
    meta_path = d / "episode.json"
    if not meta_path.exists():
        raise RecordingError(f"{d} is not an episode directory (no episode.json)")
    try:
        meta = loads_bounded(meta_path.read_bytes(), meta_path)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RecordingError(f"{meta_path} is not valid JSON: {err}") from err
    if not isinstance(meta, dict):
        raise RecordingError(f"{meta_path} is not a JSON object")
    steps: list[dict[str, Any]] = []
    torn = 0
    steps_path = d / "steps.jsonl"
    if steps_path.exists():
        steps, torn = parse_step_lines(steps_path.read_bytes(), steps_path)
    if full:
        meta = resolve(meta, d, f" ({meta_path.name})")
        steps = [resolve(s, d, f" ({steps_path.name}:{n + 1})") for n, s in enumerate(steps)]
    return Episode(dir=d, meta=meta, steps=steps, torn_lines=torn)
