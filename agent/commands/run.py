"""``agent run``: run a task on an env with a model, live progress, exit 0 only on success."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.commands.flags import (
    NO_ZOOM,
    add_env_flags,
    add_gate_flags,
    add_secret_flags,
    add_zoom_flags,
    env_from_args,
    gate_from_args,
    zoom_settings,
)
from agent.commands.terminal import for_terminal
from agent.core.errors import ConfigError

if TYPE_CHECKING:
    from agent.core.model import Model
    from agent.episode.loop import StepEvent
    from agent.episode.recording import Episode
    from agent.safety.gate import Gate
    from agent.safety.secrets import Secrets

DEFAULT_MAX_STEPS = 30


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a task on an env with a model")
    p.add_argument(
        "--task",
        help="what to do, or a bundled task id such as flights/book-cheapest "
        "(required unless --resume)",
    )
    p.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the stopped episode in DIR: re-create its env and task, replay the "
        "executed actions, append new steps (give --yes / --secret again if needed)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="ocr | scripted:FILE | openai:MODEL@URL | anthropic:MODEL | openai-cua:MODEL | "
        "gemini:MODEL | hub id or path (default: $NATIVE_AGENT_MODEL, else ocr)",
    )
    p.add_argument(
        "--base-url",
        help="OpenAI-compatible server (makes --model MODEL served there; URL1,URL2,...: "
        "several, balanced per episode with failover), or the address of a hosted model's API",
    )
    p.add_argument(
        "--model-family",
        help="model profile, overriding detection from the name / config.json (e.g. qwen3-vl, "
        "ui-tars-1.5; setting `family`)",
    )
    p.add_argument(
        "--planner",
        metavar="MODEL",
        help="split each step in two calls: MODEL (any --model spec, or scripted:FILE with "
        '"format": "instructions" or "json") says what to do in words, --grounder finds '
        "where (docs/guides/planning.md); --model then must not be given",
    )
    p.add_argument(
        "--grounder",
        metavar="MODEL",
        help="with --planner: ocr | scripted:FILE | a model spec whose family grounds "
        "(default: the planner's own family when it grounds, else ocr)",
    )
    p.add_argument(
        "--text-planner",
        action="store_true",
        help="with --planner: the planner prompt lists the screen's OCR lines with their "
        "positions (for a text-only LLM)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=1,
        metavar="K",
        help="with --planner: ask the planner K times per step; --judge picks among the "
        "distinct readable answers (default 1)",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="run the task N times from the same start (--out DIR/run-1 ...); --judge picks "
        "one run from their narrations, recorded in DIR/best_of.json beside each run's own "
        "outcome; the exit code is the picked run's own (default 1)",
    )
    p.add_argument(
        "--judge",
        metavar="MODEL",
        help="with --samples K or --runs N: the model that picks one candidate by number "
        "(a --model spec such as scripted:FILE or openai:MODEL@URL; advisory: it never "
        "changes a recorded success)",
    )
    p.add_argument("--config", type=Path, help="TOML settings file (flags > env vars > file)")
    p.add_argument(
        "--max-steps",
        type=int,
        default=DEFAULT_MAX_STEPS,
        help=f"step budget (default {DEFAULT_MAX_STEPS}; a resume keeps the recorded one)",
    )
    p.add_argument(
        "--loop-nudges",
        default="5,8,12",
        metavar="N,N,...",
        help="loop guard: tell the model it is repeating itself when one action on one page "
        "reaches each of these repeat counts ('off' for never; default 5,8,12)",
    )
    p.add_argument(
        "--loop-stop",
        type=int,
        default=0,
        metavar="N",
        help="loop guard: end the episode with status 'loop' at N repeats of one action on "
        "one page (default 0: never)",
    )
    p.add_argument(
        "--stagnation",
        type=int,
        default=5,
        metavar="N",
        help="loop guard: nudge the model after N steps in a row that changed nothing on the "
        "screen (0: off; default 5)",
    )
    p.add_argument(
        "--checker",
        metavar="MODEL",
        help="ask this model after every step whether the action worked (success / "
        "wrong_page / no_change; recorded, advisory only): a --model spec such as "
        "scripted:FILE or openai:MODEL@URL (default: no model check)",
    )
    p.add_argument(
        "--replan-after",
        type=int,
        default=2,
        metavar="N",
        help="with --checker: tell the model to re-plan after N bad checks in a row (default 2)",
    )
    p.add_argument("--out", help="episode directory (default: runs/<time>-<task>)")
    p.add_argument("--quiet", action="store_true", help="no per-step progress")
    add_env_flags(p, default=None)  # browser; a resume rebuilds the recorded env
    add_gate_flags(p)
    add_secret_flags(p)
    add_zoom_flags(p)  # --zoom …: the grounder's zoom-in pass (with --planner)
    p.set_defaults(func=run)


def _fmt_action(a: dict[str, Any]) -> str:
    parts = [a["type"]]
    if "point" in a:
        parts.append(f"({a['point'][0]:.0f},{a['point'][1]:.0f})")
    for key in ("target", "text", "keys", "url", "direction", "answer", "question"):
        if a.get(key):
            parts.append(repr(a[key])[:40])
    return " ".join(parts)


def _progress(ev: StepEvent, secrets: Secrets | None = None) -> None:
    acts = "; ".join(_fmt_action(a) for a in ev.actions) or "(no action)"
    t = ev.timings
    line = (
        f"step {ev.index + 1:>3}  {acts:<48} model {t.get('model_s', 0):.2f}s  "
        f"exec {t.get('execute_s', 0):.2f}s"
    )
    if ev.error:
        line += f"  ! {ev.error[:100]}"
    if secrets:
        line = secrets.scrub_text(line)
    print(for_terminal(line, newlines=False), file=sys.stderr, flush=True)


def _resume_gate(args: argparse.Namespace, recorded: dict[str, Any] | None) -> Gate:
    """``--resume`` judges with the command line's policy, never the recording's (an
    ``episode.json`` is editable); a recorded policy that differs is named on stderr."""
    gate = gate_from_args(args)
    was = (recorded or {}).get("policy")
    now = getattr(gate, "policy", None)
    if isinstance(was, dict) and (now is None or was != now.to_json()):
        name = was.get("name", "?")
        print(
            f"note: the recording ran with policy {name!r}; the resume uses the command line's "
            f"({'no gate' if now is None else repr(now.name)}): --policy FILE to choose",
            file=sys.stderr,
        )
    return gate


def run(args: argparse.Namespace) -> int:
    from agent.safety.secrets import Secrets

    if bool(args.task) == bool(args.resume):
        raise ConfigError("agent run needs --task TEXT_OR_ID, or --resume DIR (not both)")
    if args.max_steps < 1:
        raise ConfigError("--max-steps must be ≥ 1")
    check_best_of(args)
    secrets = Secrets.from_sources(args.secret)
    with secrets.guard():
        if getattr(args, "runs", 1) > 1:
            return _run_best_of(args, secrets)
        episode = _resume(args, secrets) if args.resume else _run(args, secrets)
        o = secrets.scrub(episode.outcome)
    summary = f"{o.get('status', '?')} after {o.get('steps', len(episode.steps))} step(s)"
    if o.get("answer"):
        summary += f"; answer: {o['answer']}"
    if o.get("error"):
        summary += f"; error: {o['error']}"
    if o.get("evaluation") is not None:
        summary += f"; task check: {'passed' if o['evaluation'].get('success') else 'failed'}"
    print(for_terminal(summary), file=sys.stderr)
    print(for_terminal(f"episode: {episode.dir}"), file=sys.stderr)
    return 0 if episode.success else 1


def _load_model(args: argparse.Namespace, recorded: str | None = None) -> tuple[Model, str]:
    if getattr(args, "planner", None):
        return _load_planned(args)
    if getattr(args, "grounder", None) or getattr(args, "text_planner", False):
        raise ConfigError("--grounder and --text-planner go with --planner MODEL")
    if zoom_settings(args):  # a grounder setting: a --model grounds in its one call
        raise ConfigError("--zoom … sets the grounder: add --planner MODEL (with --grounder)")
    from model.config import backend_settings, check_backend, load_settings, model_spec
    from model.registry import backend_of, load_model

    sources: dict[str, str] = {}
    settings = load_settings(
        {
            "model": args.model,
            "base_url": args.base_url,
            "family": getattr(args, "model_family", None),
        },
        args.config,
        sources,
    )
    explicit = args.model or args.base_url or not recorded
    spec = model_spec(settings) if explicit else recorded  # a resume keeps its model
    if not spec:
        print(
            "agent run: no --model given; using the CPU OCR grounder ('ocr'). For a VLM pass "
            "--model Qwen/Qwen2-VL-7B-Instruct or --model openai:MODEL@http://HOST:8000/v1",
            file=sys.stderr,
        )
        spec = "ocr"
    extra = backend_settings(settings)
    check_backend(backend_of(spec), extra, sources)  # names the flag / env var / file
    return load_model(spec, **extra), spec


def _load_planned(args: argparse.Namespace) -> tuple[Model, str]:
    """``--planner P [--grounder G]`` → a :class:`~model.planner.PlannedModel`; the spec
    recorded is ``planner=P grounder=G``."""
    from model.grounders.registry import load_grounder
    from model.planner import PlannedModel

    if args.model:
        raise ConfigError("give --planner (with --grounder) or --model, not both")
    pspec = args.planner.strip()
    if pspec.startswith("scripted:"):
        from model.scripted import ScriptedModel

        planner: Model = ScriptedModel.from_file(pspec.partition(":")[2], planner=True)
    else:
        planner, pspec = _load_model(argparse.Namespace(**{**vars(args), **NO_ZOOM, "model": pspec,
                                                           "planner": None, "grounder": None,
                                                           "text_planner": False}))  # fmt: skip
    gspec = args.grounder
    if not gspec:  # the planner's own family when it grounds, else OCR
        gspec = "ocr" if pspec.startswith(("scripted:", "ocr")) else pspec
    try:
        grounder = load_grounder(gspec, **zoom_settings(args))
    except ConfigError as err:
        if args.grounder:
            raise
        print(f"agent run: the planner does not ground ({err}); using --grounder ocr",
              file=sys.stderr)  # fmt: skip
        gspec, grounder = "ocr", load_grounder("ocr", **zoom_settings(args))
    samples = getattr(args, "samples", 1)
    judge = load_judge(args) if samples > 1 else None
    model = PlannedModel(planner, grounder, text_only=args.text_planner, samples=samples,
                         judge=judge)  # fmt: skip
    args.planner, args.grounder = pspec, gspec  # recorded in episode.json
    return model, f"planner={pspec} grounder={gspec}"


def check_best_of(args: argparse.Namespace) -> None:
    """``--samples`` / ``--runs`` / ``--judge`` go together; a wrong mix is a ConfigError
    naming the fix (before anything loads)."""
    samples, runs = getattr(args, "samples", 1), getattr(args, "runs", 1)
    judge = getattr(args, "judge", None)
    if samples < 1 or runs < 1:
        raise ConfigError("--samples and --runs must be ≥ 1")
    if samples > 1 and not getattr(args, "planner", None):
        raise ConfigError(f"--samples {samples} samples a planner: give --planner MODEL too")
    if (samples > 1 or runs > 1) and not judge:
        what = f"--samples {samples}" if samples > 1 else f"--runs {runs}"
        raise ConfigError(f"{what} needs --judge MODEL to choose (e.g. --judge "
                          f"openai:MODEL@URL or scripted:FILE), or drop it")  # fmt: skip
    if judge and samples == 1 and runs == 1:
        raise ConfigError("--judge chooses among --samples K (K ≥ 2) or --runs N (N ≥ 2)")
    if runs > 1 and args.resume:
        raise ConfigError("--runs starts new runs; it cannot go with --resume")


def load_judge(args: argparse.Namespace) -> Any:
    """``--judge MODEL`` as a :class:`~model.judge.Judge`."""
    from model.judge import Judge
    from model.registry import load_model

    return Judge(load_model(args.judge))


def _run_best_of(args: argparse.Namespace, secrets: Secrets) -> int:
    """``--runs N --judge J``: N episodes from the same start (a fresh env and the task's
    own setup each time), then the judge; exit 0 only when the picked run's own recorded
    outcome is a success."""
    from agent.core.errors import NativeAgentError
    from agent.episode.bestof import RECORD, best_of_runs
    from agent.episode.recording import load_episode
    from agent.episode.runner import default_out_dir, resolve_task

    out = Path(args.out) if args.out else default_out_dir(resolve_task(args.task)[0])
    loop_config(args)  # bad flags fail before any model loads
    judge = load_judge(args)
    loaded = None
    try:
        loaded = _load_model(args)  # one model for every run (a script goes on where it was)
        spec = {**vars(args)}  # _load_model records the planner pair in args

        def one(i: int, run_dir: Path) -> Episode:
            print(for_terminal(f"run {i + 1} of {args.runs}: {run_dir}"), file=sys.stderr)
            try:
                return _run(argparse.Namespace(**{**spec, "out": str(run_dir)}), secrets, loaded)
            except NativeAgentError:
                if (run_dir / "episode.json").exists():  # recorded with its error: judged too
                    return load_episode(run_dir)
                raise

        best = best_of_runs(one, args.runs, judge, out, scrub=secrets.scrub)
    finally:
        judge.model.close()
        if loaded is not None:
            loaded[0].close()
    for i, ep in enumerate(best.runs):
        mark = "  <- picked by the judge" if i == best.verdict.index else ""
        print(for_terminal(f"run {i + 1}: {ep.outcome.get('status', '?')}{mark}"),
              file=sys.stderr)  # fmt: skip
    if best.verdict.fallback:
        print(for_terminal(f"judge fell back to run 1: {best.verdict.fallback}"), file=sys.stderr)
    print(for_terminal(f"best-of-{args.runs}: {out / RECORD}"), file=sys.stderr)
    return 0 if best.picked.success else 1


def _progress_fn(args: argparse.Namespace, secrets: Secrets) -> Any:
    if args.quiet:
        return None
    return lambda ev: _progress(ev, secrets)


def loop_config(args: argparse.Namespace) -> Any:
    """The loop's settings from the flags (the loop guard's checked by its constructor)."""
    from agent.episode.checks import LoopGuard, parse_counts
    from agent.episode.loop import LoopConfig

    cfg = LoopConfig(
        max_steps=args.max_steps,
        loop_nudges=parse_counts(args.loop_nudges),
        loop_stop=args.loop_stop,
        stagnation=args.stagnation,
    )
    LoopGuard(nudges=cfg.loop_nudges, stop=cfg.loop_stop or None, stagnation=cfg.stagnation)
    return cfg


def load_checker(args: argparse.Namespace) -> Any:
    """``--checker MODEL`` as a :class:`~agent.episode.checker.ModelChecker`, else None."""
    from agent.episode.checker import ModelChecker

    if args.replan_after < 1:
        raise ConfigError("--replan-after must be ≥ 1")
    if not args.checker:
        return None
    from model.registry import load_model

    return ModelChecker(load_model(args.checker), replan_after=args.replan_after)


def _run(
    args: argparse.Namespace, secrets: Secrets, loaded: tuple[Model, str] | None = None
) -> Episode:
    """One episode; ``loaded``: a model (and its spec) the caller owns and closes."""
    from agent.episode.runner import run as run_task

    config = loop_config(args)  # bad flags fail before the model loads
    name, env_kwargs = env_from_args(args)
    start = env_kwargs.pop("url", None)  # the start page: recorded as episode.json's env.url
    checker = load_checker(args)
    model, spec = loaded or _load_model(args)
    try:
        return run_task(
            args.task,
            env=name,
            model=model,
            url=start,
            out=args.out,
            max_steps=args.max_steps,
            config=config,
            gate=gate_from_args(args),
            on_step=_progress_fn(args, secrets),
            secrets=secrets,
            extra_meta={"model_spec": spec, **_plan_meta(args)},
            checker=checker,
            **env_kwargs,
        )
    finally:
        if loaded is None:
            model.close()
        if checker is not None:
            checker.model.close()


def _plan_meta(args: argparse.Namespace) -> dict[str, Any]:
    if not getattr(args, "planner", None):
        return {}
    zoom = zoom_settings(args)
    return {"planner": args.planner, "grounder": args.grounder, **({"zoom": zoom} if zoom else {})}


def _resume(args: argparse.Namespace, secrets: Secrets) -> Episode:
    import warnings

    from agent.episode.recording import load_episode
    from agent.episode.resume import check_resumable, resume_episode
    from agent.episode.runner import recorded_spec
    from envs.registry import make_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        episode = load_episode(args.resume)
    check_resumable(episode)  # before the model loads
    meta = episode.meta
    recorded = recorded_spec(meta)
    if args.env and args.env != recorded.name:
        raise ConfigError(
            f"--resume rebuilds the recorded {recorded.name} env; drop --env {args.env}"
        )
    _, overrides = env_from_args(args, recorded.name)  # e.g. --headed: over the recorded spec
    if meta.get("planner") and not (args.planner or args.model):  # a resume keeps its pair
        args.planner, args.grounder = meta["planner"], args.grounder or meta.get("grounder")
    model, _ = _load_model(args, meta.get("model_spec"))
    env = None
    try:
        env = make_env(recorded, **overrides) if overrides else None
        return resume_episode(
            args.resume,
            env=env,
            model=model,
            gate=_resume_gate(args, meta.get("gate")),
            secrets=secrets,
            max_steps=args.max_steps if args.max_steps != DEFAULT_MAX_STEPS else None,
            on_step=_progress_fn(args, secrets),
        )
    finally:
        try:
            model.close()
        finally:
            if env is not None:
                env.close()
