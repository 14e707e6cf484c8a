"""``agent`` — the command line. Each subcommand lives in ``agent/commands/<name>.py`` and
exposes ``register(subparsers)``; this file only wires them together."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from typing import Any

from agent.commands.terminal import for_terminal
from agent.core.errors import Interrupted, NativeAgentError, clear_signals, note_signal, signalled

COMMANDS = (
    "run",
    "parse",
    "models",
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
    "record",
    "train",
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


def _on_sigterm(signum: int, frame: Any) -> None:
    note_signal("SIGTERM")
    raise Interrupted("SIGTERM")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM (a supervisor, `kill`, a CI timeout) ends an episode like Ctrl-C does:
    # recorded as ``interrupted``, not left ``running`` as after a SIGKILL.
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args) or 0)
    except NativeAgentError as err:
        if signalled() is None:
            print(f"agent {args.command}: error: {for_terminal(str(err))}", file=sys.stderr)
            return 2
        print(f"agent {args.command}: interrupted ({signalled()})", file=sys.stderr)
        return 143
    except (KeyboardInterrupt, Interrupted) as err:
        signame = err.signal_name if isinstance(err, Interrupted) else "SIGINT"
        print(f"agent {args.command}: interrupted ({signame})", file=sys.stderr)
        return 143 if signame == "SIGTERM" else 130
    except Exception:
        if (noted := signalled()) is None:
            raise
        # the signal tore something down mid-call (e.g. the browser driver's pipe)
        print(f"agent {args.command}: interrupted ({noted})", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
        clear_signals()


if __name__ == "__main__":
    sys.exit(main())
