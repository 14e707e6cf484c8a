"""Benchmark one agent decision on a 1920×1080 screenshot at a real model size.

Random weights with the published Qwen2-VL-2B/7B, Qwen2.5-VL-3B/7B or Qwen3-VL-8B
(``--arch qwen3-vl --size 8b``: 1920×1080 pads to 1920×1088, 2,040 image tokens) hyperparameters —
no hub needed — so the numbers are compute, not quality: prefill (vision tower + LLM over
~2.7k image tokens), decode tokens/s, and time-to-action (a forced, realistic action text
through the real generate → decode → parse path). With ``--base-url`` the same request also
goes to an OpenAI-compatible endpoint (vLLM, SGLang, ``agent serve``).

    python tools/bench_model.py --size 7b                       # CUDA, bf16
    python tools/bench_model.py --size 2b --layers 2 --device cpu --new-tokens 8   # smoke
    python tools/bench_model.py --base-url http://127.0.0.1:8000/v1 --served-model M --skip-local

Prints one JSON object per measurement (and writes them to ``--json FILE``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_qwen as mk  # tools/ is a folder of scripts, not a package

ACTIONS = {
    "ui-tars": "Thought: The search box is at the top of the page; I click it to type the "
    "query.\nAction: click(start_box='<|box_start|>(102,48)<|box_end|>')",
    "ui-tars-1.5": "Thought: The search box is at the top of the page; I click it to type the "
    "query.\nAction: click(start_box='(197,52)')",
    "qwen2-vl": "click <|object_ref_start|>the search box<|object_ref_end|>"
    "<|box_start|>(80,30),(400,66)<|box_end|>",
    "qwen2.5-vl": '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
    '"coordinate": [197, 52]}}\n</tool_call>',
    "qwen3-vl": 'Thought: I click the search box.\n<tool_call>\n{"name": "computer_use", '
    '"arguments": {"action": "left_click", "coordinate": [240, 47]}}\n</tool_call>',
}
ACTIONS["qwen3.5"] = ACTIONS["qwen3-vl"]


def screenshot(w: int, h: int, seed: int = 0) -> Any:
    """A UI-like synthetic screen (bars, buttons, text), deterministic per seed."""
    from agent.core.observation import Observation

    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (w, h), (245, 246, 248))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w, 64], fill=(32, 33, 36))
    d.rectangle([154, 34, 770, 70], fill=(255, 255, 255), outline=(120, 120, 120))
    for i in range(40):
        x, y = int(rng.integers(0, w - 200)), int(rng.integers(90, h - 40))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        d.rectangle([x, y, x + int(rng.integers(40, 200)), y + 28], fill=color)
        d.text((x + 4, y + 8), f"Item {i} — seed {seed}", fill=(0, 0, 0))
    return Observation(array=np.asarray(im))


def build_model(args: argparse.Namespace) -> Any:
    """Random weights at the real size, on the device, plus our tokenizer/processor."""
    import torch

    from model.backends.hf import TransformersModel, pick_attention, pick_device, pick_dtype

    device = pick_device(args.device)
    dtype = pick_dtype(args.dtype, device)
    attn = pick_attention(args.attn, device)
    tok = mk.build_tokenizer(extra=mk._extra(args.arch))
    processor = mk.build_processor(args.arch, tok)
    config = mk.real_config(args.arch, args.size, tok, args.layers)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    with torch.device(device):
        model = mk.model_class(args.arch)._from_config(
            config, dtype=dtype, attn_implementation=attn
        )
    model.eval()
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    tm = TransformersModel(
        model,
        processor,
        name=f"random-{args.arch}-{args.size}",
        family=args.family,
        max_new_tokens=max(args.new_tokens, 256),  # room for the forced action
        history_images=0,
    )
    info = {"device": device, "dtype": str(dtype).replace("torch.", ""), "attn": attn,
            "params_m": round(params / 1e6, 1), "build_s": round(build_s, 2)}  # fmt: skip
    return tm, info


def _request(model: Any, w: int, h: int, seed: int) -> Any:
    from agent.core.model import ModelRequest

    obs = screenshot(w, h, seed)
    frame = obs.frame(
        mode=model.input_mode,
        convention=model.convention,
        factor=model.grid,
        min_pixels=model.min_pixels,
    )
    return ModelRequest("Search for 'native resolution' and open the first result", obs, frame)


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def bench_local(args: argparse.Namespace) -> list[dict[str, Any]]:
    import torch

    from model.parsers import parse

    model, info = build_model(args)
    base = {"backend": "transformers", "arch": args.arch, "size": args.size,
            "layers": args.layers or "all", "family": model.family.name, **info}  # fmt: skip
    rows: list[dict[str, Any]] = []
    for r in range(args.warmup + args.repeat):
        req = _request(model, args.width, args.height, seed=r)
        messages = model.messages(req)
        # vision tower alone on the same pixels
        inputs = model.inputs(messages)
        _sync()
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.model.get_image_features(
                pixel_values=inputs["pixel_values"], image_grid_thw=inputs["image_grid_thw"]
            )
        _sync()
        vision_s = time.perf_counter() - t0
        # decode speed: unforced, no stop at an action
        g = model.generate(messages, max_new_tokens=args.new_tokens, stop_at_action=False)
        # time to action: a realistic forced action, stopping where the parser can act
        t1 = time.perf_counter()
        a = model.generate(messages, force_text=ACTIONS[model.family.name])
        parsed = parse(model.format, a.text, req.frame)
        tta = time.perf_counter() - t1
        if r < args.warmup:
            continue
        row = {
            **base,
            "screen": f"{req.frame.screen_w}x{req.frame.screen_h}",
            "input": f"{req.frame.input_w}x{req.frame.input_h}",
            "mode": req.frame.mode,
            "image_tokens": g.usage["image_tokens"],
            "prompt_tokens": g.usage["prompt_tokens"],
            "preprocess_s": round(g.timings["preprocess_s"], 4),
            "vision_s": round(vision_s, 4),
            "prefill_s": round(g.timings["prefill_s"], 4),
            "decode_tokens": g.usage["completion_tokens"],
            "decode_tok_s": round(g.timings["tokens_per_s"], 2),
            "action_tokens": a.usage["completion_tokens"],
            "time_to_action_s": round(tta, 4),
            "action": parsed.actions[0].type,
        }
        if torch.cuda.is_available() and info["device"].startswith("cuda"):
            row["peak_mem_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        rows.append(row)
    return rows


def bench_remote(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The same decision through an OpenAI-compatible endpoint. Decode tok/s is estimated
    from a 1-token and an N-token request (different screenshots defeat prefix caching)."""
    from model.backends.openai_backend import OpenAIModel, completion_text
    from model.parsers import parse

    name = args.served_model or f"random-{args.arch}-{args.size}"
    m = OpenAIModel(name, args.base_url, family=args.family, history_images=0,
                    max_new_tokens=max(args.new_tokens, 256), timeout=args.timeout)  # fmt: skip
    rows = []
    for r in range(args.warmup + args.repeat):
        times = {}
        for n in (1, args.new_tokens):
            req = _request(m, args.width, args.height, seed=1000 + 2 * r + (n > 1))
            body = m.payload(m.messages(req))
            body.update(max_tokens=n, ignore_eos=True)
            body.pop("stop", None)
            t0 = time.perf_counter()
            data = m.post(body)
            times[n] = (time.perf_counter() - t0, data.get("usage", {}))
        req = _request(m, args.width, args.height, seed=5000 + r)
        t0 = time.perf_counter()
        reply = m.act(req)
        tta = time.perf_counter() - t0
        text = reply.text
        try:
            action = parse(m.format, text, req.frame).actions[0].type
        except Exception as err:  # a real model may answer anything: report, don't crash
            action = f"unparsed: {type(err).__name__}"
        if r < args.warmup:
            continue
        (t1, u1), (tn, un) = times[1], times[args.new_tokens]
        got = int(un.get("completion_tokens", args.new_tokens))
        rows.append({
            "backend": "openai", "base_url": args.base_url, "model": name,
            "prompt_tokens": u1.get("prompt_tokens"), "request_1_token_s": round(t1, 4),
            "decode_tokens": got,
            "decode_tok_s": round((got - 1) / (tn - t1), 2) if tn > t1 and got > 1 else None,
            "time_to_action_s": round(tta, 4), "action": action,
            "completion": completion_text({"choices": [{"message": {"content": text}}]}, "")[:80],
        })  # fmt: skip
    m.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="qwen2-vl", choices=mk.FAMILIES)
    p.add_argument(
        "--size", default="2b", help="2b | 7b (qwen2-vl), 3b | 7b (qwen2.5-vl), 8b (qwen3-vl)"
    )
    p.add_argument("--family", help="prompt family (default: ui-tars / ui-tars-1.5 by arch)")
    p.add_argument("--layers", type=int, help="shrink the text depth (CPU smoke runs)")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--attn", default="auto", help="sdpa | flash_attention_2 | eager")
    p.add_argument("--width", type=int, default=1920)
    p.add_argument("--height", type=int, default=1080)
    p.add_argument("--new-tokens", type=int, default=64, help="tokens for the decode speed")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--base-url", help="also benchmark this OpenAI-compatible endpoint")
    p.add_argument("--served-model", help="model name at --base-url")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--skip-local", action="store_true", help="only the endpoint")
    p.add_argument("--json", type=Path, help="also write the rows here (JSON lines)")
    args = p.parse_args(argv)
    if args.family is None:
        defaults = {"qwen2-vl": "ui-tars", "qwen2.5-vl": "ui-tars-1.5"}
        args.family = defaults.get(args.arch, args.arch)
    rows: list[dict[str, Any]] = []
    if not args.skip_local:
        rows += bench_local(args)
    if args.base_url:
        rows += bench_remote(args)
    lines = [json.dumps(r) for r in rows]
    print("\n".join(lines))
    if args.json:
        args.json.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
