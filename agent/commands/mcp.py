"""``agent mcp``: serve an env as MCP tools (stdio, or streamable HTTP with a token)."""

from __future__ import annotations

import argparse
import json
import os
import secrets as pysecrets
import sys
from pathlib import Path
from typing import Any

from agent.commands.run import _size
from agent.core.errors import ConfigError

TOKEN_ENV = "NATIVE_AGENT_MCP_TOKEN"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve an env as MCP tools: screenshot, act, reset, ground, run_task",
        description="Model Context Protocol server over stdio (default) or streamable HTTP on "
        "127.0.0.1 with a bearer token. Every action passes the safety gate and is recorded.",
    )
    p.add_argument("--env", default="browser", help="browser (default) or a registered env")
    p.add_argument("--site", help="bundled site to open (browser env)")
    p.add_argument("--url", help="start page (browser env)")
    p.add_argument("--viewport", type=_size, help="browser viewport WxH, CSS px")
    p.add_argument("--dsf", type=float, help="browser device scale factor")
    p.add_argument("--kwargs", default="{}", help="JSON object of env constructor arguments")
    p.add_argument("--task", help="bundled task id or goal of the first episode")
    p.add_argument("--model", help="model for the ground and run_task tools (e.g. ocr)")
    p.add_argument("--record-dir", type=Path, default=Path("runs/mcp"), help="episodes go here")
    p.add_argument("--max-steps", type=int, default=200, help="step budget per episode")
    p.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (path /mcp)")
    p.add_argument("--token", help=f"HTTP bearer token (or ${TOKEN_ENV}; default: generated)")
    g = p.add_argument_group("safety gate and secrets (as agent run)")
    g.add_argument("--policy", type=Path, help="policy file; default: the built-in policy")
    g.add_argument("--allow-url", action="append", default=[], metavar="PATTERN")
    g.add_argument("--deny-url", action="append", default=[], metavar="PATTERN")
    g.add_argument("--yes", action="store_true", help="auto-confirm what the policy asks about")
    g.add_argument("--no-gate", action="store_true", help="no safety gate at all")
    g.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE")
    p.set_defaults(func=run)


def env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    try:
        kwargs = json.loads(args.kwargs)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--kwargs must be a JSON object: {err}") from err
    if not isinstance(kwargs, dict):
        raise ConfigError("--kwargs must be a JSON object")
    for flag in ("site", "url", "viewport", "dsf"):
        if getattr(args, flag) is not None:
            kwargs[flag] = getattr(args, flag)
    return kwargs


def run(args: argparse.Namespace) -> int:
    from agent.commands.run import build_gate
    from agent.interfaces.mcp import AgentTools, build_server, http_app
    from agent.safety.gate import PolicyGate
    from agent.safety.secrets import Secrets
    from envs.registry import env_class
    from model.registry import load_model

    if args.max_steps < 1:
        raise ConfigError("--max-steps must be ≥ 1")
    kwargs = env_kwargs(args)
    cls = env_class(args.env)  # an unknown env fails now, not at the first tool call

    def make_env() -> Any:
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise ConfigError(f"bad options for the {args.env} env: {err}") from err

    gate = build_gate(args)
    if isinstance(gate, PolicyGate) and not args.yes and not args.http:
        gate.confirm = "no"  # stdin is the protocol: nobody can be asked on it
    secrets = Secrets.from_sources(args.secret)
    model = (lambda: load_model(args.model)) if args.model else None
    tools = AgentTools(
        make_env,
        gate=gate,
        secrets=secrets,
        record_dir=args.record_dir,
        model=model,
        max_steps=args.max_steps,
        task=args.task,
    )
    server = build_server(tools)
    try:
        if not args.http:
            server.run("stdio")
            return 0
        token = args.token or os.environ.get(TOKEN_ENV)
        if args.host not in ("127.0.0.1", "localhost", "::1") and not token:
            raise ConfigError(f"--host {args.host} needs an explicit --token (or ${TOKEN_ENV})")
        if not token:
            token = pysecrets.token_urlsafe(24)
            print(f"agent mcp: token (generated): {token}", file=sys.stderr)
        import uvicorn

        print(f"agent mcp: http://{args.host}:{args.port}/mcp", file=sys.stderr, flush=True)
        config = uvicorn.Config(
            http_app(server, token), host=args.host, port=args.port, log_level="warning"
        )
        uvicorn.Server(config).run()
        return 0
    finally:
        tools.close()
