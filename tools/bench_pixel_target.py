"""Measure the pixel reading's cost per gated click: the gate's check (default policy, a
rule that needs the target) with the DOM readings only (``pixel_target = false``) and with
the pixel reading too (OCR of the element's box), in the same run, on the same page, with
the OCR engine loaded beforehand (its load time is reported apart). Wall times depend on
the machine's load; ``cpu_ms_median`` is this process's CPU time (the OCR; the DOM reads
run mostly in Chromium). Each button has its own label, so no OCR result is
reused from the engine's cache.

    python tools/bench_pixel_target.py [--clicks 40] [--buttons 20] [--font 16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def page(buttons: int, font: int) -> str:
    rows = "".join(
        f"<button style='position:absolute;left:{20 + 300 * (i % 2)}px;top:{10 + 40 * (i // 2)}px;"
        f"width:240px;height:32px;font:{font}px sans-serif'>Keep item {i + 1}</button>"
        for i in range(buttons)
    )
    return f"<!doctype html><body style='margin:0'>{rows}"


def serve(body: str) -> ThreadingHTTPServer:
    """The page on 127.0.0.1 (the gate refuses a ``file:`` page)."""
    data = body.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=40, help="gated clicks per mode")
    ap.add_argument("--buttons", type=int, default=20)
    ap.add_argument("--font", type=int, default=16, help="CSS px")
    args = ap.parse_args()

    from agent.core.actions import Click
    from agent.safety.gate import PolicyGate
    from agent.safety.policy import Policy
    from agent.safety.targets import TargetReader
    from envs.browser import BrowserEnv

    reader = TargetReader()  # shared: each gate sets whether it reads the pixels
    t0 = time.perf_counter()
    reader.seen.engine().warm_up(background=False)  # once per run, at the first gated click
    load_s = time.perf_counter() - t0
    httpd = serve(page(args.buttons, args.font))
    try:
        env = BrowserEnv(f"http://127.0.0.1:{httpd.server_address[1]}/", viewport=(1280, 800))
        try:
            obs = env.observe()
            points = [(140.0 + 300 * (i % 2), 26.0 + 40 * (i // 2)) for i in range(args.buttons)]
            gates = {
                "dom": PolicyGate(Policy(pixel_target=False), reader=reader),
                "dom+pixels": PolicyGate(Policy(), reader=reader),
            }
            times: dict[str, list[float]] = {k: [] for k in gates}
            cpu: dict[str, list[float]] = {k: [] for k in gates}  # this process's CPU time
            seen: list[str] = []
            for i in range(args.clicks + 2):  # two warm-up rounds, then alternate the modes
                for name, gate in gates.items():
                    t, c = time.perf_counter(), time.process_time()
                    d = gate.check(Click(point=points[i % len(points)]), env, obs)
                    if i >= 2:
                        times[name].append(time.perf_counter() - t)
                        cpu[name].append(time.process_time() - c)
                    if d.verdict != "allow":
                        raise SystemExit(f"the gate refused a harmless click: {d.to_json()}")
                    if name == "dom+pixels" and d.target:
                        seen.append(str(d.target.get("seen")))
        finally:
            env.close()
    finally:
        httpd.shutdown()
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    right = sum(s.startswith("Keep item") for s in seen) / max(1, len(seen))
    print(
        json.dumps(
            {
                "clicks": args.clicks,
                "ocr_load_s": round(load_s, 2),
                "font_px": args.font,
                "median_ms": {k: round(v, 1) for k, v in med.items()},
                "p90_ms": {
                    k: round(sorted(v)[int(0.9 * (len(v) - 1))] * 1000, 1) for k, v in times.items()
                },
                "ratio": round(med["dom+pixels"] / med["dom"], 2),
                "ocr_ms_per_click": round(med["dom+pixels"] - med["dom"], 1),
                "cpu_ms_median": {k: round(statistics.median(v) * 1000, 1) for k, v in cpu.items()},
                "seen_read_right": round(right, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
