"""OCR grounder latency on one native-resolution screenshot (default 1920×1080).

    python tools/bench_ocr.py [--runs 5] [--viewport 1920x1080] [--site shop] [--json]
                              [--image PNG | --generated] [--threads N] [--stock]
                              [--steps-only | --no-steps]

The screenshot is a bundled site taken with headless Chromium at the viewport size, else
(no browser here, or ``--generated``) a PIL-rendered UI of that size. Figures:

* ``init_s``: building the engine; ``cold_s``: the first read (RapidOCR loads its ONNX
  sessions lazily, so this includes model loading and the first inference);
* ``ocr_s``: median of ``--runs`` uncached reads after ``--warmup`` runs (cache cleared
  before each), with the detector / recogniser split and ``cpu_s``, the process CPU time
  per read (all threads: a load-independent figure on a shared machine);
* ``cached_ground_s``: median of a ``ground()`` call on the same screenshot (content hash +
  cache hit + text matching): what every further instruction on one screen costs;
* ``--stock`` also times RapidOCR's stock settings (0.5/0.5 detector normalisation,
  2000 px cap) on the same image, with the number of lines each reads;
* ``steps`` (incremental OCR): real steps on the page — ``type`` (text typed into the search
  field: one region), ``click`` (an "Add to cart" click: the cart counter, the pressed button
  and a toast), ``navigate`` (to the cart page: a full-screen change). For each, in the same
  run and interleaved: ``incremental_s`` (the step's screen read with the previous screen
  as base; the base is restored by reading back the other way), ``full_s`` (the same screen
  read in full, tiled detection), ``legacy_s`` (RapidOCR's whole-image pipeline, the full
  OCR before incremental reading), medians, with the work done — detector input pixels and
  recognised crops, figures that machine load does not change — and ``equal`` (the
  incremental lines equal the full read's).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from agent.core.errors import NativeAgentError
from model.ocr import OcrEngine, OcrGrounder
from model.ocr.engine import image_digest


def generated_ui(w: int, h: int) -> np.ndarray:
    """A plain UI: a header, a form with labelled fields, buttons, a list and a footer."""
    im = Image.new("RGB", (w, h), "#f3f4f6")
    d = ImageDraw.Draw(im)

    def f(size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.load_default(size=size)

    d.rectangle((0, 0, w, 60), fill="white")
    d.text((24, 18), "Northwind Console", fill="#111", font=f(22))
    for i, item in enumerate(["Dashboard", "Orders", "Customers", "Reports", "Settings"]):
        d.text((w - 620 + i * 120, 22), item, fill="#333", font=f(16))
    d.rounded_rectangle((80, 100, w // 2, h - 120), radius=8, fill="white", outline="#ddd")
    for i, label in enumerate(["Full name", "Email address", "Company", "Phone number"]):
        y = 140 + i * 90
        d.text((110, y), label, fill="#222", font=f(15))
        d.rounded_rectangle((110, y + 24, w // 2 - 40, y + 60), radius=4, outline="#bbb")
    d.rounded_rectangle((110, 520, 260, 560), radius=6, fill="#2563eb")
    d.text((140, 530), "Save changes", fill="white", font=f(16))
    x0 = w // 2 + 60
    for i in range(14):
        y = 110 + i * 52
        row = f"Order #{10231 + i}  ·  {3 + i % 5} items  ·  ${19.99 + i * 7:.2f}"
        d.text((x0, y), row, fill="#333", font=f(14))
        d.text((w - 180, y), "View details", fill="#2563eb", font=f(14))
    d.text((24, h - 40), "© 2026 Northwind  ·  Terms  ·  Privacy  ·  Help", fill="#666", font=f(12))
    return np.asarray(im)


def screenshot(args: argparse.Namespace, w: int, h: int) -> tuple[np.ndarray, str]:
    if args.image:
        return np.asarray(Image.open(args.image).convert("RGB")), f"file {args.image}"
    if not args.generated:
        try:
            from envs.browser import BrowserEnv

            env = BrowserEnv(site=args.site, viewport=(w, h))
            try:
                return env.observe().array, f"bundled site {args.site!r} (headless Chromium)"
            finally:
                env.close()
        except (ImportError, NativeAgentError) as err:
            print(f"no browser screenshot ({err}); using a generated UI", file=sys.stderr)
    return generated_ui(w, h), "generated UI (PIL)"


def step_screens(args: argparse.Namespace, w: int, h: int) -> tuple[list[np.ndarray], str]:
    """Base, typed field, cart click, cart page: real steps on the shop site, else edits of
    the generated UI."""
    if not args.generated and not args.image:
        try:
            from envs.browser import BrowserEnv

            env = BrowserEnv(site=args.site, viewport=(w, h))
            try:
                shots = [env.observe().array]
                env.page.fill("#search", "desk lamp")
                shots.append(env.observe().array)
                env.page.locator("button:has-text('Add to cart')").first.click()
                env.page.wait_for_selector("#cart-link:has-text('Cart (1)')")
                time.sleep(0.4)  # the toast's fade-in
                shots.append(env.observe().array)
                env.page.click("#cart-link")
                time.sleep(0.4)
                shots.append(env.observe().array)
                return shots, f"bundled site {args.site!r} (headless Chromium)"
            finally:
                env.close()
        except (ImportError, NativeAgentError) as err:
            print(f"no browser steps ({err}); using the generated UI", file=sys.stderr)
    base = generated_ui(w, h)
    im = Image.fromarray(base)
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((110, 164, w // 2 - 40, 200), radius=4, outline="#bbb", fill="white")
    d.text((120, 172), "Ada Lovelace", fill="#111", font=ImageFont.load_default(size=15))
    typed = np.asarray(im)
    d.rectangle((w - 620, 0, w, 60), fill="white")
    d.text((w - 300, 22), "Cart (1)", fill="#333", font=ImageFont.load_default(size=16))
    clicked = np.asarray(im)
    other = np.asarray(Image.fromarray(generated_ui(w, h)[::-1].copy()))
    return [base, typed, clicked, other], "generated UI (PIL)"


def bench_steps(shots: list[np.ndarray], runs: int, threads: int | None) -> dict[str, Any]:
    """Incremental step vs full read vs legacy full read of the same screens, interleaved."""
    inc = OcrEngine(threads=threads, cache_size=0)
    full = OcrEngine(threads=threads, cache_size=0, incremental=False)
    legacy = OcrEngine(threads=threads, cache_size=0, det_tile=0)
    for e in (inc, full, legacy):
        e.warm_up(background=False)
    out: dict[str, Any] = {}
    for name, i in (("type", 1), ("click", 2), ("navigate", 3)):
        prev, new = shots[i - 1], shots[i]
        inc.forget_screen()
        inc.read(prev)
        rows: dict[str, list[float]] = {k: [] for k in ("inc", "inc_cpu", "full", "full_cpu",
                                                         "legacy", "legacy_cpu")}  # fmt: skip
        work: dict[str, Any] = {}
        equal = True
        for _ in range(runs):
            for key, engine in (("legacy", legacy), ("full", full)):
                c0 = time.process_time()
                r = engine.read(new)
                rows[key].append(r.seconds)
                rows[key + "_cpu"].append(time.process_time() - c0)
                if key == "full":
                    ref, work["full"] = r, dict(r.work)
            c0 = time.process_time()
            r = inc.read(new)
            rows["inc_cpu"].append(time.process_time() - c0)
            rows["inc"].append(r.seconds)
            work["incremental"] = dict(r.work)
            equal &= [(x.text, x.box) for x in r.lines] == [(x.text, x.box) for x in ref.lines]
            inc.read(prev)  # back to the previous screen as base (also incremental)
        med = {k: round(median(v), 4) for k, v in rows.items()}
        out[name] = {
            "incremental_s": med["inc"],
            "full_s": med["full"],
            "legacy_s": med["legacy"],
            "cpu_s": {
                "incremental": med["inc_cpu"],
                "full": med["full_cpu"],
                "legacy": med["legacy_cpu"],
            },
            "ratio_to_full": round(med["inc"] / med["full"], 3),
            "ratio_to_legacy": round(med["inc"] / med["legacy"], 3),
            "work": work,
            "det_px_ratio": round(work["incremental"]["det_px"] / work["full"]["det_px"], 3),
            "lines": len(ref.lines),
            "equal": equal,
            "runs": runs,
        }
    return out


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def measure(engine: OcrEngine, image: np.ndarray, runs: int, warmup: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    first = engine.read(image)
    cold = time.perf_counter() - t0
    for _ in range(warmup):
        engine.clear_cache()
        engine.read(image)
    times, det, rec, cpu = [], [], [], []
    for _ in range(runs):
        engine.clear_cache()
        c0 = time.process_time()
        r = engine.read(image)
        cpu.append(time.process_time() - c0)
        times.append(r.seconds)
        det.append(r.stages.get("det", 0.0))
        rec.append(r.stages.get("rec", 0.0))
    return {
        "cold_s": round(cold, 4),
        "ocr_s": round(median(times), 4),
        "ocr_min_s": round(min(times), 4) if times else None,
        "cpu_s": round(median(cpu), 4),
        "det_s": round(median(det), 4),
        "rec_s": round(median(rec), 4),
        "lines": len(first.lines),
        "runs": times and [round(t, 4) for t in times],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--viewport", default="1920x1080")
    ap.add_argument("--site", default="shop", help="bundled site to screenshot")
    ap.add_argument("--image", help="use this PNG instead of a screenshot")
    ap.add_argument("--generated", action="store_true", help="use a generated UI image")
    ap.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    ap.add_argument("--stock", action="store_true", help="also time RapidOCR's stock settings")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--steps-only", action="store_true", help="only the incremental steps")
    ap.add_argument("--no-steps", action="store_true", help="skip the incremental steps")
    args = ap.parse_args()
    w, h = (int(v) for v in args.viewport.lower().split("x"))
    machine = {
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    steps: dict[str, Any] | None = None
    if not args.no_steps:
        shots, step_source = step_screens(args, w, h)
        steps = bench_steps(shots, args.runs, args.threads)
        steps["source"] = step_source
    if args.steps_only:
        out = {**machine, "load_average_end": list(os.getloadavg()), "steps": steps}
        print(json.dumps(out, indent=2) if args.json else _steps_text(out))
        return 0
    image, source = screenshot(args, w, h)

    t0 = time.perf_counter()
    engine = OcrEngine(threads=args.threads)
    init = time.perf_counter() - t0
    ours = measure(engine, image, args.runs, args.warmup)
    warm_engine = OcrEngine(threads=args.threads)
    t0 = time.perf_counter()
    warm_engine.warm_up(background=False)
    warm_up_s = time.perf_counter() - t0
    grounder = OcrGrounder(engine)
    lines = grounder.read(image).lines
    query = lines[len(lines) // 2].text if lines else "Save"
    cached = []
    for _ in range(max(args.runs, 5)):
        t0 = time.perf_counter()
        grounder.ground(image, query)
        cached.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    image_digest(image)
    digest_s = time.perf_counter() - t0

    out: dict[str, Any] = {
        "image": {"width": image.shape[1], "height": image.shape[0], "source": source},
        **machine,
        "load_average_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": {p: _version(p) for p in ("rapidocr", "onnxruntime")},
        "settings": {k: v for k, v in engine.settings.items() if k != "Global.log_level"},
        "init_s": round(init, 4),
        "warm_up_s": round(warm_up_s, 4),
        **ours,
        "cached_ground_s": round(median(cached), 5),
        "digest_s": round(digest_s, 5),
        "query": query,
    }
    if args.stock:
        stock = OcrEngine(
            threads=args.threads, imagenet_norm=False, max_side_len=2000, sparse_lines=0
        )
        out["stock"] = measure(stock, image, args.runs, args.warmup)
    if steps is not None:
        out["steps"] = steps
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"image      {image.shape[1]}x{image.shape[0]} from {source}")
    print(f"machine    {out['cpu_count']} CPUs, load {out['load_average']}")
    print(f"init       {out['init_s']:.3f} s (engine built; ONNX sessions load on first read)")
    print(f"cold       {out['cold_s']:.3f} s (first read: model load + first inference)")
    print(f"uncached   {out['ocr_s']:.3f} s median of {args.runs} (det {out['det_s']:.3f} s, "
          f"rec {out['rec_s']:.3f} s), {out['lines']} lines, {out['cpu_s']:.2f} s CPU")  # fmt: skip
    print(f"cached     {out['cached_ground_s'] * 1000:.1f} ms per ground() on the same screen "
          f"(hash {out['digest_s'] * 1000:.1f} ms)")  # fmt: skip
    print(f"warm-up    {out['warm_up_s']:.3f} s (OcrModel runs it in a background thread)")
    if args.stock:
        s = out["stock"]
        print(f"stock cfg  {s['ocr_s']:.3f} s median, {s['lines']} lines (RapidOCR defaults)")
    if steps is not None:
        print(_steps_text(out))
    return 0


def _steps_text(out: dict[str, Any]) -> str:
    steps = out["steps"]
    rows = [f"steps      {steps['source']}; load {out['load_average']}"]
    for name in ("type", "click", "navigate"):
        s = steps[name]
        wk = s["work"]
        rows.append(
            f"  {name:<9}incremental {s['incremental_s']:.3f} s, full {s['full_s']:.3f} s, "
            f"legacy {s['legacy_s']:.3f} s (medians of {s['runs']}; ×{s['ratio_to_full']:.2f} "
            f"of full); det px {wk['incremental']['det_px']}/{wk['full']['det_px']}, "
            f"crops {wk['incremental']['crops']}/{wk['full']['crops']}, equal {s['equal']}"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
