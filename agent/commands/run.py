"""``agent run``: run a task on an env with a model, live progress, exit 0 only on success."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.loop import StepEvent


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected WxH such as 1280x800, got {text!r}") from err


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a task on an env with a model")
    p.add_argument(
        "--task",
        required=True,
        help="what to do, or a bundled task id such as flights/book-cheapest",
    )
    p.add_argument("--env", default="browser", help="browser (default) or a registered env")
    p.add_argument("--url", help="start page (browser); default: the bundled flight site")
    p.add_argument("--site", help="bundled site to open (browser): flights, account, shop")
    p.add_argument(
        "--model",
        default=None,
        help="ocr | scripted:FILE | openai:MODEL@URL | hub id or path "
        "(default: $NATIVE_AGENT_MODEL, else ocr)",
    )
    p.add_argument("--base-url", help="OpenAI-compatible server; makes --model MODEL served there")
    p.add_argument("--config", type=Path, help="TOML settings file (flags > env vars > file)")
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--out", help="episode directory (default: runs/<time>-<task>)")
    p.add_argument("--viewport", type=_size, default=(1280, 800), help="browser viewport, CSS px")
    p.add_argument("--dsf", type=float, default=1.0, help="browser device scale factor")
    p.add_argument("--headed", action="store_true", help="show the browser window")
    p.add_argument("--browser-path", help="Chromium/Chrome executable")
    p.add_argument("--quiet", action="store_true", help="no per-step progress")
    p.set_defaults(func=run)


def _fmt_action(a: dict[str, Any]) -> str:
    parts = [a["type"]]
    if "point" in a:
        parts.append(f"({a['point'][0]:.0f},{a['point'][1]:.0f})")
    for key in ("target", "text", "keys", "url", "direction", "answer", "question"):
        if a.get(key):
            parts.append(repr(a[key])[:40])
    return " ".join(parts)


def _progress(ev: StepEvent) -> None:
    acts = "; ".join(_fmt_action(a) for a in ev.actions) or "(no action)"
    t = ev.timings
    line = (
        f"step {ev.index + 1:>3}  {acts:<48} model {t.get('model_s', 0):.2f}s  "
        f"exec {t.get('execute_s', 0):.2f}s"
    )
    if ev.error:
        line += f"  ! {ev.error[:100]}"
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from agent.api import run as run_task
    from model.config import backend_settings, load_settings, model_spec
    from model.registry import load_model

    settings = load_settings({"model": args.model, "base_url": args.base_url}, args.config)
    spec = model_spec(settings)
    if not spec:
        print(
            "agent run: no --model given; using the CPU OCR grounder ('ocr'). For a VLM pass "
            "--model Qwen/Qwen2-VL-7B-Instruct or --model openai:MODEL@http://HOST:8000/v1",
            file=sys.stderr,
        )
        spec = "ocr"
    extra = {} if spec.startswith(("ocr", "scripted:")) else backend_settings(settings)
    model = load_model(spec, **extra)
    if args.max_steps < 1:
        raise ConfigError("--max-steps must be ≥ 1")
    env_kwargs: dict[str, Any] = {}
    if args.env == "browser":
        env_kwargs = {"viewport": args.viewport, "dsf": args.dsf, "headless": not args.headed}
        if args.browser_path:
            env_kwargs["browser_path"] = args.browser_path
        if args.site:
            env_kwargs["site"] = args.site
    try:
        episode = run_task(
            args.task,
            env=args.env,
            model=model,
            url=args.url,
            out=args.out,
            max_steps=args.max_steps,
            on_step=None if args.quiet else _progress,
            **env_kwargs,
        )
    finally:
        model.close()
    o = episode.outcome
    summary = f"{o.get('status', '?')} after {o.get('steps', len(episode.steps))} step(s)"
    if o.get("answer"):
        summary += f"; answer: {o['answer']}"
    if o.get("error"):
        summary += f"; error: {o['error']}"
    if o.get("evaluation") is not None:
        summary += f"; task check: {'passed' if o['evaluation'].get('success') else 'failed'}"
    print(summary, file=sys.stderr)
    print(f"episode: {episode.dir}", file=sys.stderr)
    return 0 if episode.success else 1
