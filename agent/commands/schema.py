"""``agent schema``: print the JSON Schema of the action union."""

from __future__ import annotations

import argparse

from agent.core.actions import schema_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of actions")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(schema_json())
    return 0
