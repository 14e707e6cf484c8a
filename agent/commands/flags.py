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


def add_policy_flag(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """``--policy`` alone (``agent record``: its verdicts are recorded, never enforced)."""
    g = p.add_argument_group("safety gate")
    g.add_argument(
        "--policy", type=Path, help="policy file (TOML or JSON); default: the built-in policy"
    )
    return g


def add_gate_flags(p: argparse.ArgumentParser) -> None:
    """The safety gate: ``--policy``, ``--allow-url``, ``--deny-url``, ``--yes``, ``--no-gate``."""
    g = add_policy_flag(p)
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


ZOOM_MODES = ("off", "always", "uncertain")
# the zoom flags unset (the planner's own model is loaded without them: zoom is the grounder's)
NO_ZOOM: dict[str, Any] = dict.fromkeys(
    ("zoom", "zoom_size", "zoom_fraction", "zoom_samples", "zoom_threshold")
) | {"zoom_upscale": False}


def add_zoom_flags(p: argparse.ArgumentParser) -> None:
    """Zoom-in grounding (model/grounders/zoom.py), a setting of ``--grounder``: ground on
    the whole screen, then again on a native-resolution crop around the first answer."""
    g = p.add_argument_group("zoom (with --planner: a second grounding pass on a crop)")
    g.add_argument(
        "--zoom",
        choices=ZOOM_MODES,
        default=None,
        help="off (default) | always: ground again on a crop around the first answer | "
        "uncertain: only when --zoom-samples first answers disagree",
    )
    g.add_argument(
        "--zoom-size",
        type=size,
        metavar="WxH",
        help="the crop, in screenshot px (shifted inward at the screen's edges, never shrunk)",
    )
    g.add_argument(
        "--zoom-fraction",
        type=float,
        metavar="F",
        help="the crop as a fraction of each screen side, in (0, 1] (default 0.25: a "
        "sixteenth of the screen); --zoom-size replaces it",
    )
    g.add_argument(
        "--zoom-upscale",
        action="store_true",
        help="send the crop enlarged x2 (bicubic; recorded as the only resampling)",
    )
    g.add_argument(
        "--zoom-samples",
        type=int,
        metavar="K",
        help="with --zoom uncertain: first-pass answers to compare (default 3, at least 2)",
    )
    g.add_argument(
        "--zoom-threshold",
        type=float,
        metavar="PX",
        help="with --zoom uncertain: zoom when the answers spread more than PX CSS px (default 16)",
    )


def zoom_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The zoom flags as ``load_grounder`` keywords (empty: zoom off and no zoom flag given);
    a bad or stray value is a ConfigError naming the flag and the fix."""
    mode = getattr(args, "zoom", None)
    given = {
        flag: getattr(args, dest, None)
        for flag, dest in (
            ("--zoom-size", "zoom_size"),
            ("--zoom-fraction", "zoom_fraction"),
            ("--zoom-samples", "zoom_samples"),
            ("--zoom-threshold", "zoom_threshold"),
        )
    }
    given = {k: v for k, v in given.items() if v is not None}
    if getattr(args, "zoom_upscale", False):
        given["--zoom-upscale"] = True
    if mode in (None, "off"):
        if given:
            raise ConfigError(
                f"{', '.join(given)} set how zoom crops, but zoom is off: add --zoom always "
                "(or --zoom uncertain)"
            )
        return {"zoom": "off"} if mode == "off" else {}
    if "--zoom-size" in given and "--zoom-fraction" in given:
        raise ConfigError("give --zoom-size WxH or --zoom-fraction F, not both")
    out: dict[str, Any] = {"zoom": mode, "zoom_upscale": bool(getattr(args, "zoom_upscale", 0))}
    if (wh := given.get("--zoom-size")) is not None:
        if wh[0] <= 0 or wh[1] <= 0:
            raise ConfigError(f"--zoom-size must be positive px, got {wh[0]}x{wh[1]}: e.g. 640x360")
        out["zoom_size"] = wh
    if (f := given.get("--zoom-fraction")) is not None:
        if not (0 < f <= 1):
            raise ConfigError(f"--zoom-fraction must be in (0, 1], got {f}: e.g. 0.25")
        out["zoom_fraction"] = f
    for flag, key in (("--zoom-samples", "zoom_samples"), ("--zoom-threshold", "zoom_threshold")):
        if flag not in given:
            continue
        if mode != "uncertain":
            raise ConfigError(f"{flag} goes with --zoom uncertain (got --zoom {mode})")
        out[key] = given[flag]
    if out.get("zoom_samples", 2) < 2:
        raise ConfigError(f"--zoom-samples must be at least 2, got {out['zoom_samples']}")
    if out.get("zoom_threshold", 0) < 0:
        raise ConfigError(f"--zoom-threshold must be ≥ 0 CSS px, got {out['zoom_threshold']}")
    return out
