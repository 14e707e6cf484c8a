"""A 10-step episode through a real vLLM: prefix-cache hit rate, encode time and latency per
step, read from vLLM's own ``/metrics`` and the episode's step lines.

    python tools/bench_vllm.py                    # vLLM CPU build, tiny random Qwen2-VL
    python tools/bench_vllm.py --steps 10 --viewport 1280x800 --json
    python tools/bench_vllm.py --url http://127.0.0.1:8000/v1 --model NAME   # your server

The episode is shop/add-to-cart in real headless Chromium, history window of 2 images; the
model is constrained (``region_click_schema``) to clicks on the first "Add to cart" button,
so a tiny random model still produces a real episode whose screen changes every step.

Baseline in the same run: the same episode with every image re-encoded on every step
(the backend before the cache). Prefix-cache hit rate = Δ``vllm:prefix_cache_hits`` /
Δ``vllm:prefix_cache_queries`` over the episode, in tokens. With a sliding image window the
reusable prefix is what precedes the oldest image (system prompt, tool definitions, task),
so the rate is about that prefix over the prompt length. Encode = building the request body
(padding + PNG + base64 of the new screenshot; history images come from the cache).
"""

from __future__ import annotations

import argparse
import json
import re
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

from agent.episode.runner import run  # noqa: E402
from envs.browser.env import BrowserEnv  # noqa: E402
from envs.sites import get_task  # noqa: E402
from model.backends.constrain import region_click_schema  # noqa: E402
from model.backends.images import ImageCache  # noqa: E402
from model.backends.openai_backend import OpenAIModel  # noqa: E402


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
    base_url: str, name: str, steps: int, viewport: tuple[int, int], *, cached: bool = True
) -> list[dict]:
    env = BrowserEnv(site="shop", viewport=viewport)
    try:
        task = get_task("shop/add-to-cart")
        # each run its own goal text: the second run must not reuse the first one's cached
        # prefix past the system prompt (that part is shared by every episode, as in use)
        task.goal = f"{task.goal} (run {'cached' if cached else 'baseline'})"  # type: ignore[misc]
        task.setup(env)
        box = env.page.locator(".add-btn").first.bounding_box()
        assert box is not None, "the shop page shows no Add to cart button"
        x0, y0 = int(box["x"]) + 3, int(box["y"]) + 3
        x1, y1 = int(box["x"] + box["width"]) - 3, int(box["y"] + box["height"]) - 3
        model = OpenAIModel(
            name, base_url, format="json", constrained=True, history_images=2,
            action_schema=region_click_schema(x0, y0, x1, y1), max_new_tokens=40,
        )  # fmt: skip
        if not cached:
            model.images = Uncached()
        with tempfile.TemporaryDirectory() as out:
            ep = run(
                task, env=env, model=model, max_steps=steps, out=Path(out) / "ep", no_gate=True
            )
        model.close()
        return list(ep.steps)
    finally:
        env.close()


def summarize(steps: list[dict], before: dict[str, float], after: dict[str, float]) -> dict:
    def delta(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    def ms(key: str) -> list[float]:
        return [1000 * s["timings"].get(key, 0.0) for s in steps]

    queries, hits = delta("vllm:prefix_cache_queries"), delta("vllm:prefix_cache_hits")
    mm_q, mm_h = delta("vllm:mm_cache_queries"), delta("vllm:mm_cache_hits")
    encode, request = ms("model.encode_s"), ms("model.request_s")
    return {
        "steps": len(steps),
        "prefix_cache_hit_rate": round(hits / queries, 4) if queries else None,
        "prefix_cache_hits_tokens": hits,
        "prefix_cache_queries_tokens": queries,
        "mm_cache_hit_rate": round(mm_h / mm_q, 4) if mm_q else None,
        "prompt_tokens": delta("vllm:prompt_tokens"),
        "png_encodes": sum(int(s["timings"].get("model.png_encodes", 0)) for s in steps),
        "encode_ms_per_step": [round(v, 1) for v in encode],
        "encode_ms_median": round(statistics.median(encode), 1),
        "request_ms_per_step": [round(v, 1) for v in request],
        "request_ms_median": round(statistics.median(request), 1),
        "request_ms_max": round(max(request), 1),
        "errors": [s.get("error") for s in steps if s.get("error")],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--viewport", default="1280x800")
    ap.add_argument("--url", help="an already running vLLM (…/v1); default: start the CPU build")
    ap.add_argument("--model", help="served model name (with --url)")
    ap.add_argument("--family", default="qwen2-vl", help="tiny checkpoint family to serve")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.viewport.lower().split("x"))
    server = None
    started = time.perf_counter()
    try:
        if args.url:
            if not args.model:
                ap.error("--url needs --model NAME")
            base_url, name = args.url.rstrip("/"), args.model
        else:
            ckpt = vllm_cpu.tiny_checkpoint(args.family, Path(tempfile.mkdtemp()) / args.family)
            server = vllm_cpu.start(ckpt, name=f"tiny-{args.family}")
            base_url, name = server.base_url, server.name
        root = base_url.removesuffix("/v1")
        runs = []
        for cached in (False, True):  # baseline first, so the cached run is not favoured
            before = metrics(root)
            steps = episode(base_url, name, args.steps, (w, h), cached=cached)
            runs.append((steps, before, metrics(root)))
    except vllm_cpu.VllmError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
    base, report = summarize(*runs[0]), summarize(*runs[1])
    report["baseline_png_encodes"] = base["png_encodes"]
    report["baseline_encode_ms_median"] = base["encode_ms_median"]
    report["baseline_request_ms_median"] = base["request_ms_median"]
    report["baseline_prefix_cache_hit_rate"] = base["prefix_cache_hit_rate"]
    report["baseline_mm_cache_hit_rate"] = base["mm_cache_hit_rate"]
    if server is not None:
        report["server_start_s"] = round(server.start_s, 1)
        report["warmup_s"] = round(server.warmup_s, 2)
    report["viewport"] = f"{w}x{h}"
    report["total_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report))
    else:
        for k, v in report.items():
            print(f"{k:28} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
