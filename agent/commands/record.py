"""``agent record``: a person operates the env; their input becomes an episode."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.commands.flags import add_env_flags, add_policy_flag, add_secret_flags, env_from_args
from agent.core.errors import ConfigError

if TYPE_CHECKING:
    from agent.core.env import Env
    from agent.core.inputs import EventSource
    from agent.record.recorder import Progress

RECORDABLE = ("browser", "desktop")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "record",
        help="record a person operating the browser or the desktop as an episode",
        description="Capture a person's input and screenshots, reduce the input to actions "
        "and write an episode in agent run's format (replayable, exportable). Stop with "
        "Ctrl-C or --seconds.",
    )
    p.add_argument("--task", default="", help="what the person is about to do (the goal)")
    p.add_argument("--out", type=Path, help="episode directory (default runs/<time>-<task>)")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between screenshots while nothing happens (default 1)",
    )
    add_policy_flag(p)  # its verdicts are recorded for each action, never enforced
    p.add_argument(
        "--no-finish",
        action="store_true",
        help="do not end the episode with a finish step on the last screenshot",
    )
    add_env_flags(p, default="browser")  # --url, --headed... as agent run has them
    add_secret_flags(p)
    p.set_defaults(func=run)


def _progress(p: Progress) -> None:
    print(
        f"\r[record] {p.seconds:6.1f} s  {p.events} events  {p.actions} actions  "
        f"{p.screenshots} screenshots",
        end="",
        file=sys.stderr,
        flush=True,
    )


def env_settings(args: argparse.Namespace) -> tuple[str, dict[str, Any], str | None]:
    """(env name, its settings, the start URL): browser or desktop only; the browser is
    headed unless the settings say otherwise (a person needs the window)."""
    name, kwargs = env_from_args(args)
    if name not in RECORDABLE:
        raise ConfigError(f"agent record records --env browser or desktop, not {name!r}")
    if name == "browser":
        kwargs.setdefault("headless", False)
    return name, kwargs, kwargs.get("url") if name == "browser" else None


def source_for(env: Env, script: str | None = None) -> EventSource:
    """The env's capture; a ConfigError naming the fix when it offers none. ``script``
    (test only, ``NATIVE_AGENT_RECORD_SCRIPT``): the scripted fake instead of a person."""
    from agent.core.env import Feature
    from agent.record.scripted import ScriptedSource, load_script

    if script:
        return ScriptedSource(load_script(script))
    if not env.offers(Feature.INPUT_RECORDING):
        raise ConfigError(
            f"the {env.name} env here cannot capture input (it does not offer "
            f"{Feature.INPUT_RECORDING.value!r}); record with --env browser or desktop"
        )
    return env.input_source()


def run(args: argparse.Namespace) -> int:
    from agent.episode.runner import default_out_dir
    from agent.record.recorder import record, recording_gate
    from agent.record.scripted import SCRIPT_ENV
    from agent.safety.policy import load_policy
    from agent.safety.secrets import Secrets
    from envs.registry import make_env

    name, kwargs, url = env_settings(args)
    if args.seconds is not None and args.seconds <= 0:
        raise ConfigError(f"--seconds must be > 0, got {args.seconds}")
    if args.interval <= 0:
        raise ConfigError(f"--interval must be > 0, got {args.interval}")
    script = os.environ.get(SCRIPT_ENV)  # test only: a scripted fake instead of a person
    secrets = Secrets.from_sources(args.secret)
    gate = recording_gate(load_policy(args.policy) if args.policy else None)
    task = args.task.strip() or "recorded demonstration"
    out = args.out or default_out_dir(task)
    with secrets.guard():
        env = make_env(name, **kwargs)
        try:
            source = source_for(env, script)
            print(f"[record] recording into {out}; stop with Ctrl-C", file=sys.stderr)
            episode = record(
                env,
                source,
                out,
                task=task,
                seconds=args.seconds,
                interval=args.interval,
                url=url,
                gate=gate,
                secrets=secrets,
                finish=not args.no_finish,
                on_progress=_progress,
            )
        finally:
            env.close()
    o = episode.outcome
    print(
        f"\n[record] {o.get('stopped_by')}: {o.get('events')} events → {o.get('steps')} steps "
        f"in {episode.dir}",
        file=sys.stderr,
    )
    if o.get("error"):
        print(f"[record] the capture stopped on an error: {o['error']}", file=sys.stderr)
        return 1
    print(episode.dir)
    return 0
