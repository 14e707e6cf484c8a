"""A full-screen Tk window of calibration targets that logs where each click lands.

Run by ``agent calibrate --env desktop`` (via ``DesktopEnv(app=...)``)::

    python -m envs.desktop.targets LOG_PATH TARGETS_JSON LEFT TOP WIDTH HEIGHT

``TARGETS_JSON`` is a list of ``{"name", "x", "y", "w", "h"}`` in X root coordinates (the
desktop env's input units, target centres). Every button press is appended to ``LOG_PATH`` as
a JSON line with ``x_root`` / ``y_root``; a ``ready`` line is written once the window is up.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> None:
    import tkinter as tk

    log_path, targets_json = argv[0], argv[1]
    left, top, width, height = (int(v) for v in argv[2:6])
    targets = json.loads(targets_json)
    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 — app lifetime

    def write(event: str, **data: object) -> None:
        log.write(json.dumps({"event": event, "t": time.time(), **data}) + "\n")

    root = tk.Tk(className="NativeAgentCalibration")
    root.overrideredirect(True)  # no decorations, so window px = root px - (left, top)
    root.geometry(f"{width}x{height}+{left}+{top}")
    canvas = tk.Canvas(root, width=width, height=height, bg="white", highlightthickness=0)
    canvas.pack()
    for t in targets:
        x, y, hw, hh = t["x"] - left, t["y"] - top, t["w"] / 2, t["h"] / 2
        canvas.create_rectangle(x - hw, y - hh, x + hw, y + hh, outline="red", fill="")
        canvas.create_line(x - hw, y, x + hw + 1, y, fill="red")
        canvas.create_line(x, y - hh, x, y + hh + 1, fill="red")

    def click(e: tk.Event) -> None:
        write("click", num=e.num, x_root=e.x_root, y_root=e.y_root)

    root.bind_all("<ButtonPress>", click)

    def ready() -> None:
        root.update_idletasks()
        write("ready", x=root.winfo_rootx(), y=root.winfo_rooty())

    root.after(200, ready)
    root.mainloop()


if __name__ == "__main__":
    main(sys.argv[1:])
