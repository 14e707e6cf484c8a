"""A bench's journal: ``OUT/bench.json`` (the settings and the job list, written when the
bench starts) and ``OUT/results.jsonl`` (one result per line, appended and flushed the
moment a job ends, after its episode is in ``OUT``).

``agent bench --resume OUT`` reads both: the settings must equal the recorded ones (a
:class:`~agent.core.errors.ConfigError` names each difference), the jobs already in
``results.jsonl`` are kept and only the missing ones run. A line cut short by a kill is
ignored and cut off before the next append; a job that appears twice (two copies of a
retried job) keeps its first line.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError, NativeAgentError
from agent.suites.bench import BenchConfig, Job

RESULTS = "results.jsonl"
RECORD = "bench.json"
# settings that may differ between a run and its resume: where it writes, how the browser
# is found and shown; every other setting changes what a job measures
LOCAL_SETTINGS = ("out", "headless", "browser_path", "secrets")


class JobLostError(NativeAgentError):
    """A job could not be finished by any of its attempts (its node or worker died each
    time, or it ran past its deadline): the other jobs' results are kept in results.jsonl,
    and ``agent bench --resume OUT`` runs the lost ones again."""

    code = "job_lost"


def settings(config: BenchConfig) -> dict[str, Any]:
    """The settings a resume must repeat (JSON), with the secrets' names only."""
    data = {k: v for k, v in asdict(config).items() if k not in LOCAL_SETTINGS}
    data["secret_names"] = sorted(config.secrets)
    return json.loads(json.dumps(data, default=list))  # tuples → lists, as read back


class Journal:
    """Append-only results of one bench directory."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.path = self.out / RESULTS
        self.record = self.out / RECORD

    # ---- starting and resuming ---------------------------------------------------------
    def start(self, config: BenchConfig, jobs: list[Job], *, resume: bool) -> dict[str, Any]:
        """Record (or, with ``resume``, check) the settings and the jobs; returns the
        results already done, by job key (empty for a new bench)."""
        keys = [j.key for j in jobs]
        if not resume:
            if self.path.exists() or self.record.exists():
                raise ConfigError(
                    f"{self.out} already holds a bench ({RESULTS}); finish it with "
                    f"`agent bench --resume {self.out}` and the same settings, or choose a "
                    "new --out"
                )
            self.out.mkdir(parents=True, exist_ok=True)
            data = {"settings": settings(config), "jobs": keys}
            self.record.write_text(json.dumps(data, indent=2), encoding="utf-8")
            self.path.touch()
            return {}
        if not self.record.exists():
            raise ConfigError(
                f"--resume {self.out}: no {RECORD} there (not a bench directory, or one "
                "written before benches could resume); run the bench again with a new --out"
            )
        try:
            recorded = json.loads(self.record.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ConfigError(f"--resume {self.out}: {RECORD} is unreadable ({err})") from err
        diff = _differences(recorded.get("settings", {}), settings(config))
        if recorded.get("jobs") != keys:
            diff.append(
                f"jobs: recorded {len(recorded.get('jobs', []))} ({_short(recorded.get('jobs'))})"
                f", now {len(keys)} ({_short(keys)}) — give the same --tasks and --seeds"
            )
        if diff:
            raise ConfigError(
                f"--resume {self.out}: the settings differ from the recorded bench: "
                + "; ".join(diff)
                + ". Resume with the first run's settings, or start a new --out"
            )
        self._cut_partial_line()
        return self.done()

    def done(self) -> dict[str, dict[str, Any]]:
        """Every complete result line by job key (the first line of a key wins); a line
        that does not parse (cut short by a kill) is ignored."""
        found: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return found
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("episode"), str):
                found.setdefault(row["episode"], row)
        return found

    def _cut_partial_line(self) -> None:
        """Drop a last line without its newline (a write cut short), so the next append
        starts a line of its own."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    # ---- while running -----------------------------------------------------------------
    def append(self, result: dict[str, Any]) -> None:
        """One job's result, on disk (flushed and synced) when this returns."""
        line = json.dumps(result, default=str) + "\n"
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def clear_stale(self, jobs: list[Job]) -> None:
        """Remove what an earlier, killed run left of ``jobs`` (they run again)."""
        for job in jobs:
            d = self.out / job.key
            if d.is_dir():
                shutil.rmtree(d)


def _differences(recorded: dict[str, Any], now: dict[str, Any]) -> list[str]:
    return [
        f"{k}: recorded {recorded.get(k)!r}, now {now.get(k)!r}"
        for k in sorted(set(recorded) | set(now))
        if recorded.get(k) != now.get(k)
    ]


def _short(keys: Any) -> str:
    keys = list(keys or [])
    return ", ".join(keys[:3]) + (", …" if len(keys) > 3 else "")
