"""``agent check-env NAME``: run the env conformance checks and print a table."""

from __future__ import annotations

import argparse
import json

from agent.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-env",
        help="check that an env keeps the env contract (exit 0 iff all checks pass)",
    )
    p.add_argument("name", help="env name: browser, desktop, android or an entry point")
    p.add_argument("--kwargs", default="{}", help="JSON object of constructor arguments")
    p.add_argument(
        "--actions",
        default="[]",
        help="JSON list of actions to use instead of the built-in harmless ones "
        '(e.g. \'[{"type": "open_app", "name": "settings"}]\')',
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.actions import parse_action
    from envs.conformance import check_env
    from envs.registry import env_class

    try:
        kwargs = json.loads(args.kwargs)
        actions = [parse_action(a) for a in json.loads(args.actions)]
    except (ValueError, TypeError) as err:
        raise ConfigError(f"--kwargs / --actions must be JSON: {err}") from err
    if not isinstance(kwargs, dict):
        raise ConfigError("--kwargs must be a JSON object")
    cls = env_class(args.name)  # unknown names / missing packages: a ConfigError, exit 2
    env = cls(**kwargs)  # no display / device / browser: EnvNotAvailableError, exit 2
    report = check_env(lambda: env, actions=actions)
    print(report.to_json() if args.json else report.table())
    return 0 if report.passed else 1
