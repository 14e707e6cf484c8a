"""The flags several commands share, declared once: which env and its settings, the safety
gate, the secrets. ``agent run``, ``bench``, ``replay``, ``mcp``, ``check-env`` and
``calibrate`` add them from here and turn them into an env with :func:`env_from_args`.

Env settings come as ``--env-kwargs JSON`` (any constructor keyword of the env) plus
conveniences for the common ones, each belonging to the envs named in :data:`CONVENIENCES`:
a convenience flag given for another env is a ConfigError, not silently dropped.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.core.errors import ConfigError

BROWSERS = ("browser", "miniwob")


if TYPE_CHECKING:
    from agent.safety.gate import Gate


def size(text: str) -> tuple[int, int]:
    """``WxH`` (e.g. 1280x800) → (w, h)."""
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected WxH such as 1280x800, got {text!r}") from err


@dataclass(frozen=True)
class Convenience:
    """A flag that sets one env constructor keyword, for the envs in ``envs``."""

    flag: str
    key: str
    envs: tuple[str, ...]
    help: str
    type: Any = str
    metavar: str | None = None
    value: Any = None  # a store_const flag's value (``--headed`` sets headless=False)


CONVENIENCES: tuple[Convenience, ...] = (
    Convenience("--url", "url", ("browser",), "start page"),
    Convenience("--site", "site", ("browser",), "bundled site to open: flights, account, shop"),
    Convenience("--viewport", "viewport", BROWSERS, "viewport, CSS px", size, "WxH"),
    Convenience("--dsf", "dsf", BROWSERS, "device scale factor", float),
    Convenience("--headed", "headless", BROWSERS, "show the browser window", value=False),
    Convenience("--browser-path", "browser_path", BROWSERS, "Chromium/Chrome executable"),
    Convenience("--display", "display", ("desktop",), "X display (default $DISPLAY)"),
    Convenience("--monitor", "monitor", ("desktop",), "monitor index as mss numbers it", int),
    Convenience("--serial", "serial", ("android",), "device serial (default $ANDROID_SERIAL)"),
)
KWARGS_FLAG = "--env-kwargs"
OLD_KWARGS_FLAG = "--kwargs"  # deprecated alias, kept where it existed (mcp, check-env)


def _dest(c: Convenience) -> str:
    return "env_" + c.flag[2:].replace("-", "_")


def add_env_flags(
    p: argparse.ArgumentParser,
    *,
    env: bool = True,
    default: str | None = "browser",
    choices: Sequence[str] | None = None,
    required: bool = False,
    kwargs_alias: bool = False,
) -> None:
    """``--env NAME`` (unless the command names the env otherwise: ``env=False``),
    ``--env-kwargs JSON`` (``--kwargs`` too with ``kwargs_alias``) and the conveniences."""
    g = p.add_argument_group("env and its settings")
    if env:
        g.add_argument(
            "--env",
            default=default,
            choices=choices,
            required=required,
            help="browser, desktop, android, miniwob or a registered env"
            + (f" (default {default})" if default else ""),
        )
    names = [KWARGS_FLAG, OLD_KWARGS_FLAG] if kwargs_alias else [KWARGS_FLAG]
    g.add_argument(
        *names,
        dest="env_kwargs",
        default=None,
        metavar="JSON",
        help="JSON object of env constructor settings, e.g. '{\"monitor\": 1}'"
        + (f"; {OLD_KWARGS_FLAG} is its deprecated alias" if kwargs_alias else ""),
    )
    for c in CONVENIENCES:
        where = "/".join(c.envs)
        if c.value is not None:
            g.add_argument(
                c.flag, dest=_dest(c), action="store_const", const=c.value, default=None,
                help=f"{where}: {c.help}",
            )  # fmt: skip
        else:
            g.add_argument(
                c.flag, dest=_dest(c), type=c.type, default=None, metavar=c.metavar,
                help=f"{where}: {c.help}",
            )  # fmt: skip


def env_from_args(args: argparse.Namespace, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """(env name, constructor settings) from ``--env`` (or ``name``), ``--env-kwargs`` and
    the conveniences given. Bad JSON, a convenience flag of another env, or a setting given
    both ways with different values is a ConfigError naming the fix."""
    env = name or getattr(args, "env", None) or "browser"
    raw = getattr(args, "env_kwargs", None)
    kwargs: dict[str, Any] = {}
    if raw is not None:
        try:
            kwargs = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"{KWARGS_FLAG} must be a JSON object: {err} (got {raw!r:.80})"
            ) from err
        if not isinstance(kwargs, dict):
            raise ConfigError(
                f"{KWARGS_FLAG} must be a JSON object such as '{{\"dsf\": 2}}', got {raw!r:.80}"
            )
    for c in CONVENIENCES:
        value = getattr(args, _dest(c), None)
        if value is None:
            continue
        if env not in c.envs:
            raise ConfigError(
                f"{c.flag} is a setting of the {'/'.join(c.envs)} env, not of {env!r}; for "
                f"the {env} env pass its settings as {KWARGS_FLAG} '{{\"NAME\": VALUE}}'"
            )
        value = list(value) if isinstance(value, tuple) else value
        if c.key in kwargs and kwargs[c.key] != value:
            raise ConfigError(
                f"{c.key} is given twice ({c.flag} {value!r} and {KWARGS_FLAG} "
                f"{kwargs[c.key]!r}): keep one"
            )
        kwargs[c.key] = value
    return env, kwargs


def add_gate_flags(p: argparse.ArgumentParser) -> None:
    """The safety gate: ``--policy``, ``--allow-url``, ``--deny-url``, ``--yes``, ``--no-gate``."""
    g = p.add_argument_group("safety gate")
    g.add_argument(
        "--policy", type=Path, help="policy file (TOML or JSON); default: the built-in policy"
    )
    g.add_argument(
        "--allow-url", action="append", default=[], metavar="PATTERN",
        help="only these URLs (host, or glob over the URL); repeatable",
    )  # fmt: skip
    g.add_argument(
        "--deny-url", action="append", default=[], metavar="PATTERN", help="never these URLs"
    )
    g.add_argument(
        "--yes",
        action="store_true",
        help="auto-confirm what the policy asks about (its denials still hold)",
    )
    g.add_argument(
        "--no-gate", action="store_true", help="no safety gate at all (every action runs)"
    )


def gate_from_args(args: argparse.Namespace) -> Gate:
    """The gate of every runner (``agent run`` and ``--resume``, ``replay``, ``bench``,
    ``mcp``): the command line's alone, built by the one function the Python API, Gymnasium
    and MCP use too (:func:`agent.episode.runner.resolve_gate`) — ``--no-gate``, else
    ``--policy`` (default: the built-in policy) plus ``--allow-url`` / ``--deny-url``;
    ``--yes`` auto-confirms. ``--no-gate`` with a policy or URL list is a ConfigError. Never
    a recording's."""
    from agent.episode.runner import resolve_gate

    return resolve_gate(
        policy=args.policy,
        allow_url=args.allow_url,
        deny_url=args.deny_url,
        confirm="yes" if args.yes else "auto",
        no_gate=args.no_gate,
    )


def add_secret_flags(p: argparse.ArgumentParser) -> None:
    """``--secret NAME=VALUE`` (repeatable)."""
    p.add_argument_group("secrets").add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value the model refers to as {{secret:NAME}}; typed, never recorded "
        "(or set NATIVE_AGENT_SECRET_NAME, which stays out of the process list)",
    )
