"""Write an eval report: ``report.json`` (metrics + every scored step) and ``report.html``
(the viewer's page: metrics on top, each step's screenshot with predicted point, executed
point and gold box)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.evaluation.metrics import __doc__ as DEFINITIONS


def write_report(report: dict[str, Any], out_dir: str | Path, *, inline: bool = True) -> Path:
    """Writes ``out_dir/report.json`` and ``out_dir/report.html``; returns the JSON path."""
    from agent.evaluation.viewer import write_view

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    data = {**report, "definitions": (DEFINITIONS or "").strip()}
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    write_view(path, out / "report.html", inline=inline)
    return path


def format_metrics(metrics: dict[str, Any]) -> str:
    """The headline metrics as a few aligned lines (for the CLI)."""

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f}%"

    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    def px(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1f} px"

    d = metrics["point_distance_px"]
    return "\n".join(
        [
            f"episodes {metrics['episodes']}, steps {metrics['steps']}",
            f"action-type accuracy  {pct(metrics['action_type_accuracy'])}",
            f"element accuracy      {pct(metrics['element_accuracy'])}"
            f"  ({metrics['element_steps']} pointing steps)",
            f"point distance        mean {px(d['mean'])}, median {px(d['median'])}",
            f"typed text            exact {pct(metrics['text_exact_match'])}, "
            f"token F1 {num(metrics['text_f1'])}  ({metrics['text_steps']} steps)",
            f"step success rate     {pct(metrics['step_success_rate'])}",
            f"episode success rate  {pct(metrics['episode_success_rate'])}",
        ]
    )
