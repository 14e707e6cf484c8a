"""Benchmark: native-agent's pad-mode Qwen2-VL preprocessing vs transformers' processors.

A synthetic W×H screenshot (UI-like panels, text-like noise) is turned into ``pixel_values``
by :func:`model.vision.qwen2vl_inputs` (pad mode: padding fused into the pass) and by
``Qwen2VLImageProcessor`` (torchvision backend) and ``Qwen2VLImageProcessorPil`` fed the
already padded image, so all three must produce the same tensor — checked before timing.
Runs are interleaved round-robin so background load hits every contender alike; the table
gives the median (and min) of N runs after warm-up.

    .venv/bin/python tools/bench_preprocess.py [--runs 20] [--json] [--input pil]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image

from agent.core.coords import DEFAULT_MAX_TOKENS, FACTOR, Frame
from model.vision import default_threads, qwen2vl_inputs, to_model_image


def synthetic_screenshot(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Flat panels and bars with hard edges plus sparse 'glyph' noise, like a UI capture."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 246, np.uint8)
    img[: max(1, height // 20)] = (32, 33, 36)  # title bar
    img[:, : max(1, width // 6)] = (241, 243, 244)  # sidebar
    for _ in range(40):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1 = x0 + int(rng.integers(8, max(9, width // 3)))
        y1 = y0 + int(rng.integers(8, max(9, height // 4)))
        img[y0:y1, x0:x1] = rng.integers(0, 256, 3, dtype=np.uint8)
    glyphs = rng.integers(0, 12, (height, width), dtype=np.uint8) == 0
    img[glyphs] = rng.integers(0, 96, (int(glyphs.sum()), 3), dtype=np.uint8)
    return img


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(width: int, height: int, runs: int, warmup: int, as_pil: bool) -> dict[str, Any]:
    from transformers import Qwen2VLImageProcessor, Qwen2VLImageProcessorPil

    shot = synthetic_screenshot(width, height)
    frame = Frame.for_screen(width, height)
    if frame.mode != "pad":
        raise SystemExit(f"{width}x{height} exceeds the token cap: pad mode does not apply")
    padded = to_model_image(shot, frame)
    ours_in: Any = Image.fromarray(shot) if as_pil else shot
    hf_in: Any = Image.fromarray(padded) if as_pil else padded

    # Bounds wide enough that the processors never resample the (multiple-of-28) image.
    size = {"shortest_edge": 56 * 56, "longest_edge": DEFAULT_MAX_TOKENS * FACTOR * FACTOR}
    hf_tv = Qwen2VLImageProcessor(size=size)
    hf_pil = Qwen2VLImageProcessorPil(size=size)
    reuse = torch.empty_like(qwen2vl_inputs(ours_in, frame).pixel_values)

    contenders: dict[str, Callable[[], Any]] = {
        "native-agent qwen2vl_inputs (pad)": lambda: qwen2vl_inputs(ours_in, frame),
        "native-agent, reused buffer (as the backend runs)": lambda: qwen2vl_inputs(
            ours_in, frame, out=reuse
        ),
        "native-agent, 1 thread": lambda: qwen2vl_inputs(ours_in, frame, threads=1),
        "HF Qwen2VLImageProcessor (torchvision)": lambda: hf_tv(images=hf_in, return_tensors="pt"),
        "HF Qwen2VLImageProcessorPil": lambda: hf_pil(images=hf_in, return_tensors="pt"),
    }

    ours = qwen2vl_inputs(ours_in, frame)
    ref_tv = hf_tv(images=hf_in, return_tensors="pt")
    ref_pil = hf_pil(images=hf_in, return_tensors="pt")
    for ref in (ref_tv, ref_pil):
        assert torch.equal(ours.image_grid_thw, ref["image_grid_thw"])
        torch.testing.assert_close(ours.pixel_values, ref["pixel_values"], atol=1e-5, rtol=0)
    exact_tv = bool(torch.equal(ours.pixel_values, ref_tv["pixel_values"]))

    times: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(warmup + runs):
        for name, fn in contenders.items():
            t = _timed(fn)
            if i >= warmup:
                times[name].append(t)

    rows = {
        name: {"median_ms": statistics.median(ts) * 1e3, "min_ms": min(ts) * 1e3}
        for name, ts in times.items()
    }
    hf_names = [n for n in rows if n.startswith("HF")]
    fastest_hf = min(hf_names, key=lambda n: rows[n]["median_ms"])
    ours_ms = rows["native-agent qwen2vl_inputs (pad)"]["median_ms"]
    return {
        "screenshot": [width, height],
        "model_input": [frame.input_w, frame.input_h],
        "image_grid_thw": [int(v) for v in ours.image_grid_thw[0]],
        "pixel_values_shape": list(ours.pixel_values.shape),
        "input_type": "PIL" if as_pil else "numpy",
        "torch_threads": torch.get_num_threads(),
        "native_agent_threads": default_threads(),
        "runs": runs,
        "warmup": warmup,
        "equal_outputs": True,
        "bit_equal_to_torchvision_backend": exact_tv,
        "results": rows,
        "fastest_hf": fastest_hf,
        "speedup_vs_fastest_hf": rows[fastest_hf]["median_ms"] / ours_ms,
    }


def print_table(res: dict[str, Any]) -> None:
    w, h = res["screenshot"]
    iw, ih = res["model_input"]
    print(f"screenshot {w}x{h} -> model input {iw}x{ih}, grid {res['image_grid_thw']}, ", end="")
    print(f"pixel_values {res['pixel_values_shape']} float32, input {res['input_type']}")
    print(f"threads: torch {res['torch_threads']}, ours {res['native_agent_threads']}; ", end="")
    print(f"median of {res['runs']} runs after {res['warmup']} warm-up")
    print("outputs equal (atol 1e-5); bit-equal to the torchvision backend: ", end="")
    print(res["bit_equal_to_torchvision_backend"])
    fastest = res["results"][res["fastest_hf"]]["median_ms"]
    print(f"\n{'contender':42s} {'median ms':>10s} {'min ms':>9s} {'vs fastest HF':>14s}")
    for name, r in res["results"].items():
        ratio = fastest / r["median_ms"]
        print(f"{name:42s} {r['median_ms']:10.2f} {r['min_ms']:9.2f} {ratio:13.2f}x")
    print(f"\nspeed-up vs fastest HF backend: {res['speedup_vs_fastest_hf']:.2f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--input", choices=["numpy", "pil"], default="numpy")
    ap.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = ap.parse_args(argv)
    res = run(args.width, args.height, args.runs, args.warmup, args.input == "pil")
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print_table(res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
