"""Live suites: run tasks in fresh envs, record every episode, report success per task.

Two suites: ``sites`` (the bundled sites, judged from their servers' state) and ``miniwob``
(MiniWoB++ pages served locally, judged by the pages' own reward). A :class:`Job` is one
(task, seed); a :class:`Worker` owns one env (and one model, unless the model must be built
per episode: ``oracle`` reads the live page, ``scripted:`` replays from its start) and runs
jobs one after another, each from the task's own ``setup`` (a fresh browser context and
fresh app state). :func:`agent.suites.parallel.run_jobs` spreads jobs over processes or Ray.

Results are plain dicts (JSON), independent of which worker ran a job, so a sequential, a
``--workers N`` and a ``--ray`` run of a deterministic model give equal results.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.core.env import Env
from agent.core.errors import ConfigError
from agent.core.model import Model
from agent.core.task import Task
from agent.episode.loop import Loop, LoopConfig, LoopResult
from agent.episode.recording import EpisodeWriter
from agent.safety.secrets import Secrets

SUITES = ("sites", "miniwob")
PER_EPISODE_MODELS = ("oracle", "scripted:")


@dataclass(frozen=True)
class Job:
    suite: str
    task: str  # a bundled task id (sites) or a MiniWoB++ task name
    seed: int = 0

    @property
    def key(self) -> str:
        return f"{self.task.replace('/', '__')}-s{self.seed:03d}"


@dataclass(frozen=True)
class BenchConfig:
    """Everything a worker needs (picklable: it crosses process and Ray boundaries)."""

    suite: str
    model: str
    out: str
    max_steps: int = 20
    viewport: tuple[int, int] | None = None  # default: 1280x800 (sites), 160x210 (miniwob)
    dsf: float | None = None  # default: 1 (sites), 2 (miniwob)
    headless: bool = True
    browser_path: str | None = None
    miniwob_max_time_s: float = 120.0
    model_settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.suite not in SUITES:
            raise ConfigError(f"unknown suite {self.suite!r}; known: {', '.join(SUITES)}")
        if self.model == "oracle" and self.suite != "sites":
            raise ConfigError("the oracle model knows only the bundled sites' solutions")


def default_tasks(suite: str, model: str) -> list[str]:
    """Every task of the suite that ``model`` can be asked to do."""
    if suite == "sites":
        from envs.sites import TASKS

        return sorted(TASKS)
    from envs.miniwob import OCR_TASKS, task_names

    return sorted(OCR_TASKS) if _is_ocr(model) else task_names()


def make_jobs(suite: str, tasks: list[str], seeds: int) -> list[Job]:
    if seeds < 1:
        raise ConfigError("--seeds must be ≥ 1")
    return [Job(suite, t, s) for t in tasks for s in range(seeds)]


def _is_ocr(spec: str) -> bool:
    return spec == "ocr" or spec.startswith("ocr:")


def run_episode(
    env: Env,
    task: Task | None,
    model: Model,
    out: Path,
    config: LoopConfig,
    extra_meta: dict[str, Any] | None = None,
    *,
    goal: str | None = None,
    url: str | None = None,
    secrets: Secrets | None = None,
) -> tuple[LoopResult, Path]:
    """setup → goal → record one episode. The goal is read after ``task.setup`` because it
    may come from the live page (MiniWoB++); without a task, ``goal`` is free text and the
    env is reset to ``url``. ``secrets`` are typed for their placeholders, never recorded."""
    if task is not None:
        task.setup(env)
        goal = task.goal if goal is None else goal
        obs = env.observe()
    else:
        obs = env.reset(url=url)
    if not goal:
        raise ConfigError("the episode has no goal")
    describe = getattr(task, "describe", None)
    writer = EpisodeWriter(
        out,
        {
            "task": {
                **(describe() if describe else {}),
                "goal": goal,
                "id": getattr(task, "id", None),
            },
            "env": {"name": env.name, "kwargs": _env_kwargs(env), "url": url or obs.url},
            "model": model.describe(),
            "config": vars(config),
            **({"secrets": secrets.describe()} if secrets else {}),
            **(extra_meta or {}),
        },
    )
    try:
        result = Loop(env, model, writer, config=config, secrets=secrets).run(goal, obs, task)
    except BaseException as err:
        writer.finish(
            LoopResult("error", writer.n_steps, error=f"{type(err).__name__}: {err}").outcome()
        )
        raise
    writer.finish(result.outcome())
    return result, out


def _env_kwargs(env: Env) -> dict[str, Any]:
    """What it takes to build the same env again (read back by ``agent replay``)."""
    out: dict[str, Any] = {}
    for name in ("viewport", "dsf", "max_time_s"):
        value = getattr(env, name, None)  # constructor settings, not capabilities
        if value is not None:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


class Worker:
    """Owns one env (built on first use, rebuilt after an env failure) and runs jobs."""

    def __init__(self, config: BenchConfig) -> None:
        self.cfg = config
        self.env: Env | None = None
        self.model: Model | None = None

    # ---- resources --------------------------------------------------------------------
    def _env(self) -> Env:
        if self.env is None:
            c = self.cfg
            kw: dict[str, Any] = {"headless": c.headless, "browser_path": c.browser_path}
            if c.viewport:
                kw["viewport"] = c.viewport
            if c.dsf:
                kw["dsf"] = c.dsf
            if c.suite == "miniwob":
                from envs.miniwob import MiniWobEnv

                self.env = MiniWobEnv(max_time_s=c.miniwob_max_time_s, **kw)
            else:
                from envs.browser import BrowserEnv

                self.env = BrowserEnv(site="flights", **kw)
        return self.env

    def _model(self, env: Env, task: Task) -> tuple[Model, bool]:
        """(model, owned by this episode)."""
        spec = self.cfg.model
        if spec == "oracle":
            from envs.sites.oracle import OracleModel

            return OracleModel(env, task), True  # type: ignore[arg-type]
        from model.registry import load_model

        if spec.startswith("scripted:"):
            return load_model(spec), True
        if self.model is None:
            self.model = load_model(spec, **self.cfg.model_settings)
        return self.model, False

    def _task(self, job: Job) -> Task:
        if job.suite == "miniwob":
            from envs.miniwob import MiniWobTask

            return MiniWobTask(job.task, job.seed, ocr=_is_ocr(self.cfg.model))
        from envs.sites import get_task

        return get_task(job.task)

    # ---- one job ----------------------------------------------------------------------
    def run(self, job: Job) -> dict[str, Any]:
        t0 = time.perf_counter()
        out = Path(self.cfg.out) / job.key
        record: dict[str, Any] = {**asdict(job), "episode": job.key}
        try:
            env = self._env()
            task = self._task(job)
            model, owned = self._model(env, task)
            try:
                result, _ = run_episode(
                    env,
                    task,
                    model,
                    out,
                    LoopConfig(max_steps=self.cfg.max_steps),
                    {"bench": {"suite": job.suite, "seed": job.seed}},
                )
            finally:
                if owned:
                    model.close()
            ev = result.evaluation or {}
            record.update(
                status=result.status,
                success=bool(ev.get("success")),
                reward=ev.get("reward"),
                steps=result.steps,
            )
            if result.error:
                record["error"] = result.error
        except Exception as err:  # one broken episode must not end the whole suite
            record.update(status="error", success=False, reward=None, steps=None)
            record["error"] = f"{type(err).__name__}: {err}"
            record["traceback"] = traceback.format_exc(limit=6)
            self._drop_env()  # the env may be broken; the next job builds a fresh one
        record["seconds"] = round(time.perf_counter() - t0, 3)
        return record

    def _drop_env(self) -> None:
        if self.env is not None:
            try:
                self.env.close()
            finally:
                self.env = None

    def close(self) -> None:
        try:
            self._drop_env()
        finally:
            if self.model is not None:
                self.model.close()
                self.model = None


# ---- results ------------------------------------------------------------------------------


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Success per task (n, successes, rate) and overall (mean over episodes and over
    tasks)."""
    per: dict[str, dict[str, Any]] = {}
    for r in results:
        t = per.setdefault(r["task"], {"n": 0, "successes": 0, "errors": 0})
        t["n"] += 1
        t["successes"] += int(bool(r.get("success")))
        t["errors"] += int(r.get("status") == "error")
    for t in per.values():
        t["rate"] = t["successes"] / t["n"]
    n = sum(t["n"] for t in per.values())
    ok = sum(t["successes"] for t in per.values())
    return {
        "tasks": dict(sorted(per.items())),
        "episodes": n,
        "successes": ok,
        "success_rate": ok / n if n else 0.0,
        "task_mean_rate": sum(t["rate"] for t in per.values()) / len(per) if per else 0.0,
    }


def action_signature(episode_dir: str | Path) -> list[str]:
    """The executed actions of an episode, without ``wait`` (how often a solver waits for a
    page to render depends on machine load), as short strings."""
    from agent.episode.recording import load_episode

    out = []
    for step in load_episode(episode_dir).steps:
        for rec in step.get("actions", []):
            a = rec["action"]
            if a["type"] == "wait":
                continue
            args = [str(a[k]) for k in ("target", "text", "keys", "direction", "status") if k in a]
            out.append(":".join([a["type"], *args]))
    return out


def comparable(
    results: list[dict[str, Any]], out: str | Path | None = None
) -> list[dict[str, Any]]:
    """Results without run-dependent fields (timings, tracebacks, step counts that include
    waits), in job order; with ``out``, plus each episode's :func:`action_signature`."""
    keep = ("suite", "task", "seed", "status", "success", "reward", "episode")
    rows = [{k: r.get(k) for k in keep} for r in results]
    if out is not None:
        for row in rows:
            row["actions"] = action_signature(Path(out) / row["episode"])
    return sorted(rows, key=lambda r: (r["task"], r["seed"]))


def format_table(summary: dict[str, Any], title: str = "task") -> str:
    """A Markdown table: task, episodes, successes, success rate; then the overall row."""
    lines = [f"| {title} | episodes | successes | success rate |", "|---|---:|---:|---:|"]
    for name, t in summary["tasks"].items():
        lines.append(f"| {name} | {t['n']} | {t['successes']} | {100 * t['rate']:.1f}% |")
    lines.append(
        f"| **overall** | {summary['episodes']} | {summary['successes']} | "
        f"{100 * summary['success_rate']:.1f}% |"
    )
    return "\n".join(lines)


def write_results(out: Path, config: BenchConfig, results: list[dict[str, Any]]) -> Path:
    """``results.json`` (config, per-episode results, summary) and ``results.md``."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    data = {"config": asdict(config), "results": results, "summary": summary}
    path = out / "results.json"
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    (out / "results.md").write_text(format_table(summary) + "\n", encoding="utf-8")
    return path
