"""``agent`` — the command line. Each subcommand lives in ``agent/commands/<name>.py`` and
exposes ``register(subparsers)``; this file only wires them together."""

from __future__ import annotations

import argparse
import importlib
import sys

from agent.core.errors import NativeAgentError

COMMANDS = (
    "run",
    "parse",
    "schema",
    "sites",
    "serve",
    "check_env",
    "calibrate",
    "replay",
    "eval",
    "bench",
    "view",
    "mcp",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agent",
        description="native-agent: a vision-language model operates real software "
        "at native screen resolution.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"agent.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"agent.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NativeAgentError as err:
        print(f"agent {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"agent {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
