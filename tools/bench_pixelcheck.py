"""Cost of masking's pixel check per screenshot: ``mask_and_scrub`` with and without it.

    python tools/bench_pixelcheck.py [--runs 3] [--viewport 1280x800] [--site shop] [--json]

Screens: real steps on a bundled site in headless Chromium with a secret set (the env's
privacy snapshot read as in a run) — the start page, the secret typed into the search field
(masked by the snapshot), an "Add to cart" click, the cart page (a full-screen change).
For each screen, in order (each step's screen read with the previous one as the incremental
base, as in a run), medians over ``--runs`` passes:

* ``plain_s``: masking without the check (the snapshot's boxes painted, strings scrubbed);
* ``check_s``: with the check, incremental OCR (what a run pays);
* ``check_full_s``: with the check, every screen read in full (no incremental base);
* ``ratio``: check_s / plain_s; ``cpu_s``: process CPU seconds of the checked masking (all
  threads: a figure machine load changes less than wall time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from agent.core.observation import Observation
from agent.safety.masking import mask_and_scrub, privacy_request
from agent.safety.secrets import Secrets
from agent.safety.targets import TargetReader
from model.ocr import OcrEngine

SECRET = "Vx9-QjK4-mZ7"


def screens(site: str, w: int, h: int, secrets: Secrets) -> list[tuple[str, Observation]]:
    from envs.browser import BrowserEnv

    env = BrowserEnv(site=site, viewport=(w, h))
    try:
        env.set_privacy(privacy_request(secrets))
        shots = [("start", env.observe())]
        env.page.fill("#search", SECRET)
        shots.append(("type", env.observe()))
        env.page.locator("button:has-text('Add to cart')").first.click()
        env.page.wait_for_selector("#cart-link:has-text('Cart (1)')")
        time.sleep(0.4)  # the toast's fade-in
        shots.append(("click", env.observe()))
        env.page.click("#cart-link")
        time.sleep(0.4)
        shots.append(("navigate", env.observe()))
        return shots
    finally:
        env.close()


def _timed(fn: Any) -> tuple[float, float, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def bench(shots: list[tuple[str, Observation]], secrets: Secrets, runs: int) -> dict[str, Any]:
    inc = TargetReader(OcrEngine(cache_size=0))
    full = TargetReader(OcrEngine(cache_size=0, incremental=False))
    for r in (inc, full):
        r.ocr.warm_up(background=False)
    rows: dict[str, dict[str, list[float]]] = {n: {} for n, _ in shots}
    hits: dict[str, int] = {}
    for _ in range(runs):
        inc.ocr.forget_screen()
        for name, obs in shots:
            row = rows[name]
            plain = _timed(lambda o=obs: mask_and_scrub(o, secrets, inc, pixel_check=False))
            checked = _timed(lambda o=obs: mask_and_scrub(o, secrets, inc))
            whole = _timed(lambda o=obs: mask_and_scrub(o, secrets, full))
            for key, v in (("plain_s", plain[0]), ("check_s", checked[0]),
                           ("cpu_s", checked[1]), ("check_full_s", whole[0])):  # fmt: skip
                row.setdefault(key, []).append(v)
            hits[name] = len(checked[2].extra.get("pixel_hits", []))
    out: dict[str, Any] = {}
    for name, row in rows.items():
        med = {k: round(statistics.median(v), 5) for k, v in row.items()}
        med["ratio"] = round(med["check_s"] / med["plain_s"], 1) if med["plain_s"] else None
        med["pixel_hits"] = hits[name]
        out[name] = med
    steps = [n for n, _ in shots][1:]
    out["mean_step_check_s"] = round(statistics.mean(out[n]["check_s"] for n in steps), 4)
    out["mean_step_plain_s"] = round(statistics.mean(out[n]["plain_s"] for n in steps), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--viewport", default="1280x800")
    ap.add_argument("--site", default="shop")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    w, h = (int(v) for v in args.viewport.lower().split("x"))
    secrets = Secrets({"pw": SECRET})
    result = {
        "viewport": [w, h],
        "site": args.site,
        "runs": args.runs,
        "screens": bench(screens(args.site, w, h, secrets), secrets, max(1, args.runs)),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, row in result["screens"].items():
        print(f"{name:>18}: {row}")


if __name__ == "__main__":
    main()
