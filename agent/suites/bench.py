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

from agent.core.env import Env, EnvSpec
from agent.core.errors import ConfigError, describe_error
from agent.core.model import Model
from agent.core.task import Task
from agent.episode.loop import LoopConfig
from agent.episode.runner import run_episode
from agent.safety.gate import Gate, PolicyGate, make_gate
from agent.safety.policy import Policy, default_policy
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
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # more env settings (JSON)
    # NAME → value of the {{secret:NAME}} placeholders (typed, scrubbed from every file
    # written; results.json keeps the names only). Crosses process / Ray boundaries.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    # the safety gate every episode runs behind, as JSON (it crosses process / Ray
    # boundaries): {"policy": Policy.to_json() (absent: the built-in policy), "confirm":
    # "auto" | "yes" | "no"}; None: no gate (``--no-gate``). Workers have no TTY, so a rule
    # that asks is denied unless confirm is "yes".
    gate: dict[str, Any] | None = field(default_factory=lambda: {"confirm": "auto"})

    def __post_init__(self) -> None:
        if self.suite not in SUITES:
            raise ConfigError(f"unknown suite {self.suite!r}; known: {', '.join(SUITES)}")
        if self.model == "oracle" and self.suite != "sites":
            raise ConfigError("the oracle model knows only the bundled sites' solutions")


def bench_gate(spec: dict[str, Any] | None) -> Gate:
    """A worker's gate from :attr:`BenchConfig.gate` (the same policy and confirm mode the
    command line gave ``agent run``)."""
    if spec is None:
        return make_gate(enabled=False)
    raw = spec.get("policy")
    policy = default_policy() if raw is None else Policy.from_json(raw, source="bench gate")
    return make_gate(policy, confirm=spec.get("confirm", "auto"))


def gate_spec(gate: Gate) -> dict[str, Any] | None:
    """:attr:`BenchConfig.gate` for a gate built in the parent process."""
    if not isinstance(gate, PolicyGate):
        return None
    confirm = gate.confirm if isinstance(gate.confirm, str) else "auto"
    return {"policy": gate.policy.to_json(), "confirm": confirm}


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


class Worker:
    """Owns one env (built on first use, rebuilt after an env failure) and runs jobs."""

    def __init__(self, config: BenchConfig) -> None:
        self.cfg = config
        self.env: Env | None = None
        self.model: Model | None = None
        self.secrets = Secrets(config.secrets)

    # ---- resources --------------------------------------------------------------------
    def _env(self) -> Env:
        if self.env is None:
            from envs.registry import make_env

            c = self.cfg
            kw: dict[str, Any] = {"headless": c.headless, "browser_path": c.browser_path}
            if c.viewport:
                kw["viewport"] = c.viewport
            if c.dsf:
                kw["dsf"] = c.dsf
            if c.suite == "miniwob":
                kw["max_time_s"] = c.miniwob_max_time_s
            else:
                kw["site"] = "flights"
            name = "miniwob" if c.suite == "miniwob" else "browser"
            self.env = make_env(EnvSpec(name, {**kw, **c.env_kwargs}))
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
                result = run_episode(
                    env,
                    model,
                    out,
                    task=task,
                    config=LoopConfig(max_steps=self.cfg.max_steps),
                    gate=bench_gate(self.cfg.gate),
                    secrets=self.secrets,
                    extra_meta={"bench": {"suite": job.suite, "seed": job.seed}},
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
                record["error_code"] = result.error_code
        except Exception as err:  # one broken episode must not end the whole suite
            record.update(status="error", success=False, reward=None, steps=None)
            record.update(describe_error(err))
            record["traceback"] = traceback.format_exc(limit=6)
            self._drop_env()  # the env may be broken; the next job builds a fresh one
        record["seconds"] = round(time.perf_counter() - t0, 3)
        return self.secrets.scrub(record)  # an error message may quote a secret

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
    for step in load_episode(episode_dir).records:
        for a in step.executed_actions():
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
            row["actions"] = action_signature(Path(out) / str(row["episode"]))
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


def write_results(
    out: Path,
    config: BenchConfig,
    results: list[dict[str, Any]],
    phases: dict[str, dict[str, float]] | None = None,
) -> Path:
    """``results.json`` (config with the secrets' names only, per-episode results, summary,
    per-phase step timings) and ``results.md``."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    conf = {**asdict(config), "secrets": {"names": sorted(config.secrets)}}
    data = {"config": conf, "results": results, "summary": summary}
    if phases:
        data["phases"] = phases
    path = out / "results.json"
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    md = format_table(summary) + "\n"
    if phases:
        md += "\n" + format_phases(phases) + "\n"
    (out / "results.md").write_text(md, encoding="utf-8")
    return path


def phase_stats(out: str | Path, results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """p50 / p90 (and the step count) of every per-phase timing over all recorded steps of
    the suite's episodes (``PHASES`` order, then ``step_s``)."""
    from agent.episode.recording import load_episode
    from agent.episode.steps import PHASES

    samples: dict[str, list[float]] = {k: [] for k in (*PHASES, "step_s")}
    for r in results:
        d = Path(out) / str(r.get("episode"))
        if not (d / "episode.json").exists():
            continue
        for step in load_episode(d).records:
            for k in samples:
                if k in step.timings:
                    samples[k].append(step.timings[k])
    return {
        k: {"p50": percentile(v, 50), "p90": percentile(v, 90), "n": len(v)}
        for k, v in samples.items()
        if v
    }


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method), in seconds."""
    xs = sorted(values)
    if not xs:
        raise ValueError("no values")
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def format_phases(phases: dict[str, dict[str, float]]) -> str:
    """A Markdown table of the per-phase step timings in milliseconds."""
    lines = ["| phase | p50 (ms) | p90 (ms) | steps |", "|---|---:|---:|---:|"]
    for k, v in phases.items():
        name = k[:-2] if k.endswith("_s") else k
        lines.append(f"| {name} | {1000 * v['p50']:.1f} | {1000 * v['p90']:.1f} | {v['n']} |")
    return "\n".join(lines)
