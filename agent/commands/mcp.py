"""``agent mcp``: serve an env as MCP tools (stdio, or streamable HTTP with a token)."""

from __future__ import annotations

import argparse
import os
import secrets as pysecrets
import sys
from pathlib import Path
from typing import Any

from agent.commands.flags import add_env_flags, add_gate_flags, add_secret_flags, env_from_args
from agent.core.errors import ConfigError

TOKEN_ENV = "NATIVE_AGENT_MCP_TOKEN"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve an env as MCP tools: screenshot, zoom, act, reset, ground, run_task",
        description="Model Context Protocol server over stdio (default) or streamable HTTP on "
        "127.0.0.1 with a bearer token. Every action passes the safety gate and is recorded.",
    )
    add_env_flags(p, kwargs_alias=True)
    p.add_argument("--task", help="bundled task id or goal of the first episode")
    p.add_argument("--model", help="model for the ground and run_task tools (e.g. ocr)")
    p.add_argument("--record-dir", type=Path, default=Path("runs/mcp"), help="episodes go here")
    p.add_argument("--max-steps", type=int, default=200, help="step budget per episode")
    p.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (path /mcp)")
    p.add_argument("--token", help=f"HTTP bearer token (or ${TOKEN_ENV}; default: generated)")
    add_gate_flags(p)
    add_secret_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.commands.flags import gate_from_args
    from agent.core.env import EnvSpec
    from agent.interfaces.mcp import AgentTools, build_server, http_app
    from agent.safety.gate import PolicyGate
    from agent.safety.secrets import Secrets
    from envs.registry import env_class
    from envs.registry import make_env as build_env
    from model.registry import load_model

    if args.max_steps < 1:
        raise ConfigError("--max-steps must be ≥ 1")
    name, kwargs = env_from_args(args)
    spec = EnvSpec(name, kwargs)
    env_class(name)  # an unknown env fails now, not at the first tool call

    def make_env() -> Any:
        return build_env(spec)

    gate = gate_from_args(args)
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
