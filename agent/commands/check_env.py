"""``agent check-env NAME``: run the env conformance checks and print a table."""

from __future__ import annotations

import argparse
import json

from agent.commands.flags import add_env_flags, env_from_args
from agent.core.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-env",
        help="check that an env keeps the env contract (exit 0 iff all checks pass)",
    )
    p.add_argument(
        "name",
        help="env name (browser, desktop, android, an installed entry point) "
        "or module:Class (e.g. board_env:BoardEnv with examples/ on PYTHONPATH)",
    )
    add_env_flags(p, env=False, kwargs_alias=True)  # the env is the positional NAME
    p.add_argument(
        "--actions",
        default="[]",
        help="JSON list of actions to use instead of the built-in harmless ones "
        '(e.g. \'[{"type": "open_app", "name": "settings"}]\')',
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.core.actions import parse_action
    from envs.conformance import check_env
    from envs.registry import construct

    _, kwargs = env_from_args(args, args.name)
    try:
        actions = [parse_action(a) for a in json.loads(args.actions)]
    except (ValueError, TypeError) as err:
        raise ConfigError(f"--actions must be a JSON list of actions: {err}") from err
    cls = _load(args.name)  # unknown names / missing packages: a ConfigError, exit 2
    env = construct(cls, kwargs, args.name)  # no display / device: EnvNotAvailableError
    report = check_env(lambda: env, actions=actions)
    print(report.to_json() if args.json else report.table())
    return 0 if report.passed else 1


def _load(name: str) -> type:
    """A registered env name, or ``module:Class`` for an env that is not installed."""
    import importlib

    from agent.core.env import Env
    from envs.registry import env_class

    if ":" not in name:
        return env_class(name)
    module_name, _, attr = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"cannot load {name!r}: {err}") from err
    if not (isinstance(cls, type) and issubclass(cls, Env)):
        raise ConfigError(f"{name} is not an agent.core.env.Env subclass")
    return cls
