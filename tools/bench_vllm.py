"""A 10-step episode through a real vLLM: prefix-cache hit rate of the sliding history window
and of the block window (``history_block``), prompt tokens per step, encode time and latency,
read from vLLM's own ``/metrics``, the responses' usage and the episode's step lines.

    python tools/bench_vllm.py                    # vLLM CPU build, tiny random Qwen2-VL
    python tools/bench_vllm.py --steps 10 --viewport 1280x800 --block 3 --json
    python tools/bench_vllm.py --url http://127.0.0.1:8000/v1 --model NAME   # your server
    python tools/bench_vllm.py --encode-baseline  # also: every image re-encoded each step

The episode is shop/add-to-cart in real headless Chromium, 2 history images on average; the
model is constrained (``region_click_schema``) to clicks on the first "Add to cart" button,
so a tiny random model still produces a real episode whose screen changes every step.

Two runs against the same server, each with its own goal text (so the second reuses only
the system prompt of the first, as two episodes in use do): ``sliding`` (history_block=1:
the last 2 screenshots) and ``blocks`` (history_block=B: the window grows by one step per
request and drops B screenshots at once, 2 on average for B=3: 1, 2, 3, 1, 2, 3, ...).
Prefix-cache hit rate = Δ``vllm:prefix_cache_hits`` / Δ``vllm:prefix_cache_queries`` over
the episode, in tokens; per step, the response's ``prompt_tokens`` and
``prompt_tokens_details.cached_tokens`` (the server started here has
``--enable-prompt-tokens-details``). With a sliding window the reusable prefix is what
precedes the oldest image (system prompt, task); in blocks, between two block boundaries a
request is the previous one plus one step, so all but the new screenshot is cached.
Encode = building the request body (padding + PNG + base64 of the new screenshot; history
images come from the backend's cache; ``--encode-baseline``: the backend before that cache).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import vllm_cpu  # noqa: E402

from agent.core.errors import ConfigError  # noqa: E402
from agent.core.model import check_block  # noqa: E402
from agent.episode.runner import run  # noqa: E402
from envs.browser.env import BrowserEnv  # noqa: E402
from envs.sites import get_task  # noqa: E402
from model.backends.constrain import region_click_schema  # noqa: E402
from model.backends.images import ImageCache  # noqa: E402
from model.backends.openai_backend import OpenAIModel  # noqa: E402
from model.profiles import DEFAULT_BLOCK  # noqa: E402


class Recorded(OpenAIModel):
    """The backend, keeping each response's usage (prompt and cached tokens per step) and
    how many screenshots each request held."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.usage: list[dict[str, Any]] = []

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = super().post(body)
        usage = dict(data.get("usage") or {})
        images = sum(
            p.get("type") == "image_url"
            for m in body["messages"]
            if isinstance(m["content"], list)
            for p in m["content"]
        )
        details = usage.get("prompt_tokens_details") or {}
        self.usage.append(
            {
                "prompt_tokens": usage.get("prompt_tokens"),
                "cached_tokens": details.get("cached_tokens"),
                "history_images": images - 1,
            }
        )
        return data


class Uncached(ImageCache):
    """The baseline: every image of every request encoded again (the backend before the
    cache), for the comparison in the same run."""

    def data_urls(self, parts: Any) -> list[str]:
        self._entries.clear()
        return super().data_urls(parts)


_METRIC = re.compile(r"^(vllm:[a-z_]+?)(?:_total)?(?:\{[^}]*\})?\s+([0-9.eE+-]+)$")


def metrics(root_url: str) -> dict[str, float]:
    """vLLM's Prometheus counters and gauges, summed over label sets."""
    text = httpx.get(f"{root_url}/metrics", timeout=10).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _METRIC.match(line.strip())
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def episode(
    base_url: str,
    name: str,
    steps: int,
    viewport: tuple[int, int],
    *,
    label: str,
    block: int = 1,
    cached: bool = True,
) -> tuple[list[dict], list[dict[str, Any]]]:
    env = BrowserEnv(site="shop", viewport=viewport)
    try:
        task = get_task("shop/add-to-cart")
        # each run its own goal text: the second run must not reuse the first one's cached
        # prefix past the system prompt (that part is shared by every episode, as in use)
        task.goal = f"{task.goal} (run {label})"  # type: ignore[misc]
        task.setup(env)
        box = env.page.locator(".add-btn").first.bounding_box()
        assert box is not None, "the shop page shows no Add to cart button"
        x0, y0 = int(box["x"]) + 3, int(box["y"]) + 3
        x1, y1 = int(box["x"] + box["width"]) - 3, int(box["y"] + box["height"]) - 3
        model = Recorded(
            name, base_url, format="json", constrained=True, history_images=2,
            history_block=block, action_schema=region_click_schema(x0, y0, x1, y1),
            max_new_tokens=40,
        )  # fmt: skip
        if not cached:
            model.images = Uncached()
        with tempfile.TemporaryDirectory() as out:
            ep = run(
                task, env=env, model=model, max_steps=steps, out=Path(out) / "ep", no_gate=True
            )
        model.close()
        return list(ep.steps), model.usage
    finally:
        env.close()


def summarize(
    steps: list[dict],
    usage: list[dict[str, Any]],
    before: dict[str, float],
    after: dict[str, float],
) -> dict:
    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    def ms(key: str) -> list[float]:
        return [1000 * s["timings"].get(key, 0.0) for s in steps]

    queries, hits = delta("vllm:prefix_cache_queries"), delta("vllm:prefix_cache_hits")
    mm_q, mm_h = delta("vllm:mm_cache_queries"), delta("vllm:mm_cache_hits")
    encode, request = ms("model.encode_s"), ms("model.request_s")
    shown = [u["history_images"] for u in usage]
    return {
        "steps": len(steps),
        "prefix_cache_hit_rate": round(hits / queries, 4) if queries else None,
        "prefix_cache_hits_tokens": hits,
        "prefix_cache_queries_tokens": queries,
        "mm_cache_hit_rate": round(mm_h / mm_q, 4) if mm_q else None,
        "prompt_tokens": delta("vllm:prompt_tokens"),
        "prompt_tokens_per_step": [u["prompt_tokens"] for u in usage],
        "cached_tokens_per_step": [u["cached_tokens"] for u in usage],
        "history_images_per_step": [u["history_images"] for u in usage],
        "history_images_mean": round(statistics.mean(shown), 2) if shown else None,
        "png_encodes": sum(int(s["timings"].get("model.png_encodes", 0)) for s in steps),
        "encode_ms_per_step": [round(v, 1) for v in encode],
        "encode_ms_median": round(statistics.median(encode), 1),
        "request_ms_per_step": [round(v, 1) for v in request],
        "request_ms_median": round(statistics.median(request), 1),
        "request_ms_max": round(max(request), 1),
        "errors": [s.get("error") for s in steps if s.get("error")],
    }


# a block of 3 sends up to 3 history screenshots + the current one
SERVER_ARGS = (
    "--limit-mm-per-prompt",
    '{"image": 6, "video": 0}',
    "--enable-prompt-tokens-details",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--viewport", default="1280x800")
    ap.add_argument("--url", help="an already running vLLM (…/v1); default: start the CPU build")
    ap.add_argument("--model", help="served model name (with --url)")
    ap.add_argument("--family", default="qwen2-vl", help="tiny checkpoint family to serve")
    ap.add_argument("--block", type=int, default=DEFAULT_BLOCK, help="history_block of the run")
    ap.add_argument(
        "--encode-baseline", action="store_true", help="also a run without the image cache"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.viewport.lower().split("x"))
    try:
        check_block(args.block, 2)
    except ConfigError as err:
        ap.error(str(err))
    plan = [("sliding", 1, True), ("blocks", args.block, True)]
    if args.encode_baseline:  # first, so the cached runs are not favoured
        plan.insert(0, ("uncached", 1, False))
    server = None
    scratch = tempfile.mkdtemp(prefix="bench-vllm-")  # the tiny checkpoint; removed at the end
    started = time.perf_counter()
    try:
        if args.url:
            if not args.model:
                ap.error("--url needs --model NAME")
            base_url, name = args.url.rstrip("/"), args.model
        else:
            ckpt = vllm_cpu.tiny_checkpoint(args.family, Path(scratch) / args.family)
            server = vllm_cpu.start(ckpt, name=f"tiny-{args.family}", extra_args=SERVER_ARGS)
            base_url, name = server.base_url, server.name
        root = base_url.removesuffix("/v1")
        report: dict[str, Any] = {}
        for label, block, cached in plan:
            before = metrics(root)
            steps, usage = episode(
                base_url, name, args.steps, (w, h), label=label, block=block, cached=cached
            )
            report[label] = {
                "history_block": block,
                **summarize(steps, usage, before, metrics(root)),
            }
    except vllm_cpu.VllmError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    if server is not None:
        report["server_start_s"] = round(server.start_s, 1)
        report["warmup_s"] = round(server.warmup_s, 2)
    report["viewport"] = f"{w}x{h}"
    report["total_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report))
    else:
        for k, v in report.items():
            if isinstance(v, dict):
                print(f"[{k}]")
                for kk, vv in v.items():
                    print(f"  {kk:28} {vv}")
            else:
                print(f"{k:30} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
