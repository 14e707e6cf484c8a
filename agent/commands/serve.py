"""``agent serve MODEL``: serve a transformers checkpoint over an OpenAI-compatible API.

    agent serve ByteDance-Seed/UI-TARS-1.5-7B --port 8000
    agent run --model openai:UI-TARS-1.5-7B@http://127.0.0.1:8000/v1 ...

Binds 127.0.0.1 by default. On any other address a bearer token is required
(``--api-key`` or ``$NATIVE_AGENT_API_KEY``): without one the server refuses to start,
unless ``--insecure`` says that an open model on the network is intended. Request limits
(body size, images, pixels, tokens, queue) are described in :mod:`agent.serve.app`.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.serve.limits import (
    HEADER_TIMEOUT_S,
    LIMIT_IMAGES,
    MAX_BODY_BYTES,
    MAX_CONNECTIONS_PER_CLIENT,
    MAX_IMAGE_PIXELS,
    MAX_PENDING,
    MAX_REQUEST_PIXELS,
    MAX_UNAUTHENTICATED,
    QUEUE_TIMEOUT_S,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a transformers VLM over an OpenAI-compatible API")
    p.add_argument("model", nargs="?", help="hub id or local path (default: $NATIVE_AGENT_MODEL)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--served-model-name", help="name clients use (default: MODEL as given)")
    p.add_argument("--family", help="qwen2-vl | qwen2.5-vl | ui-tars | ui-tars-1.5 | json")
    p.add_argument("--format", help="override the output parser format")
    p.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda if available)")
    p.add_argument("--dtype", help="auto (bf16 on CUDA, fp32 on CPU), bfloat16, float16, float32")
    p.add_argument("--attn-implementation", help="sdpa, flash_attention_2, eager (default: auto)")
    p.add_argument("--max-new-tokens", type=int, help="default completion limit")
    p.add_argument("--max-image-tokens", type=int, help="image token cap per screenshot")
    p.add_argument(
        "--force-text",
        help="force every completion to this text (tests and demos with random weights)",
    )
    p.add_argument(
        "--limit-images",
        type=int,
        default=LIMIT_IMAGES,
        help=f"refuse requests with more images (default {LIMIT_IMAGES})",
    )
    p.add_argument(
        "--api-key",
        help="require 'Authorization: Bearer KEY' (default: $NATIVE_AGENT_API_KEY; "
        "required off loopback)",
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --host without an API key",
    )
    p.add_argument(
        "--max-body-mb",
        type=float,
        default=MAX_BODY_BYTES / 2**20,
        help=f"largest request body in MiB (default {MAX_BODY_BYTES // 2**20})",
    )
    p.add_argument(
        "--max-image-pixels",
        type=int,
        default=MAX_IMAGE_PIXELS,
        help=f"largest image, width×height (default {MAX_IMAGE_PIXELS})",
    )
    p.add_argument(
        "--max-pending",
        type=int,
        default=MAX_PENDING,
        help=f"requests queued for the model before 503 (default {MAX_PENDING})",
    )
    p.add_argument(
        "--queue-timeout",
        type=float,
        default=QUEUE_TIMEOUT_S,
        help=f"seconds a request may wait for the model (default {QUEUE_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--max-request-pixels",
        type=int,
        default=MAX_REQUEST_PIXELS,
        help=f"decoded pixels over all images of a request (default {MAX_REQUEST_PIXELS})",
    )
    p.add_argument(
        "--max-prompt-tokens",
        type=int,
        help="longest prompt in tokens, images included (default: the model's context)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=HEADER_TIMEOUT_S,
        help="seconds a connection may take to send its request head "
        f"(default {HEADER_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--max-connections-per-client",
        type=int,
        default=MAX_CONNECTIONS_PER_CLIENT,
        help="open authenticated connections from one address "
        f"(default {MAX_CONNECTIONS_PER_CLIENT})",
    )
    p.add_argument(
        "--max-unauthenticated",
        type=int,
        default=MAX_UNAUTHENTICATED,
        help="open connections whose request head has not passed the token check; when "
        f"full, the oldest is closed for a new one (default {MAX_UNAUTHENTICATED})",
    )
    p.add_argument("--config", type=Path, help="TOML settings file")
    p.set_defaults(func=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_key_for(args: argparse.Namespace) -> str | None:
    """The token to require; refuses a non-loopback bind without one (unless --insecure)."""
    import os

    key = args.api_key or os.environ.get("NATIVE_AGENT_API_KEY") or None
    if not _is_loopback(args.host) and not key:
        if not args.insecure:
            raise ConfigError(
                f"refusing to listen on {args.host} without an API key: anyone who can reach "
                "the port could use the model. Pass --api-key KEY (or set "
                "NATIVE_AGENT_API_KEY), bind --host 127.0.0.1, or pass --insecure"
            )
        print(
            f"agent serve: warning: listening on {args.host} without an API key (--insecure)",
            file=sys.stderr,
        )
    names = ("limit_images", "max_pending", "max_image_pixels", "max_request_pixels")
    more = ("max_prompt_tokens", "max_connections_per_client", "max_unauthenticated")
    for name in (*names, *more):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be ≥ 1")
    if args.max_body_mb <= 0 or args.queue_timeout <= 0 or args.header_timeout <= 0:
        raise ConfigError("--max-body-mb, --queue-timeout and --header-timeout must be > 0")
    return key


def run(args: argparse.Namespace) -> int:
    from model.config import backend_settings, check_backend, load_settings

    api_key = api_key_for(args)  # before loading anything

    cli: dict[str, Any] = {
        "model": args.model,
        "family": args.family,
        "format": args.format,
        "device": args.device,
        "dtype": args.dtype,
        "attn_implementation": args.attn_implementation,
        "max_new_tokens": args.max_new_tokens,
        "max_image_tokens": args.max_image_tokens,
        "force_text": args.force_text,
    }
    sources: dict[str, str] = {}
    settings = load_settings(cli, args.config, sources)
    spec = settings.get("model")
    if not spec:
        raise ConfigError("agent serve needs a MODEL (hub id or local path)")
    if str(spec).startswith(("openai:", "scripted:", "ocr")):
        raise ConfigError(f"agent serve serves transformers checkpoints, not {spec!r}")
    from agent.serve import create_app, serve_forever
    from model.backends.hf import load_hf_model

    check_backend("transformers", backend_settings(settings), sources)

    print(f"agent serve: loading {spec} ...", file=sys.stderr, flush=True)
    model = load_hf_model(spec, **backend_settings(settings))
    name = args.served_model_name or spec
    app = create_app(model, served_name=name, api_key=api_key, **app_settings(args))
    print(
        f"agent serve: {name} ({model.family.name}, format {model.format}, {model.device}) on "
        f"http://{args.host}:{args.port}/v1 — use --model openai:{name}@http://{args.host}:"
        f"{args.port}/v1",
        file=sys.stderr,
        flush=True,
    )
    serve_forever(app, args.host, args.port, **guard_settings(args))
    return 0


def app_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The request limits the flags set (keyword arguments of ``create_app``)."""
    return {
        "limit_images": args.limit_images,
        "max_body_bytes": int(args.max_body_mb * 2**20),
        "max_image_pixels": args.max_image_pixels,
        "max_request_pixels": args.max_request_pixels,
        "max_prompt_tokens": args.max_prompt_tokens,
        "max_pending": args.max_pending,
        "queue_timeout_s": args.queue_timeout,
    }


def guard_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The connection limits the flags set (keyword arguments of ``guarded_protocol``)."""
    return {
        "header_timeout_s": args.header_timeout,
        "per_client": args.max_connections_per_client,
        "max_unauthenticated": args.max_unauthenticated,
    }
